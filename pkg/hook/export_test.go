package hook

import (
	sdkpkg "github.com/deckhouse/module-sdk/pkg"
	"github.com/flant/shell-operator/pkg/kube/object_patch"
)

func ParseOperationsForTest(spec string) ([]sdkpkg.PatchCollectorOperation, error) {
	return object_patch.ParseOperations([]byte(spec))
}
