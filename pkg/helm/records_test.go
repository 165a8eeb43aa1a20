package helm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/seedops/addon-operator/pkg/helm"
)

// An install or upgrade lists its release's records once: the SDK's other
// reads of them (availability, last and deployed revision, the history
// before pruning) are answered from that list and from what the operation
// wrote. Pruning to HistoryMax still sees every record
// (TestDeployKeepsHistoryMax runs through the same path).
func TestDeployListsItsRecordsOnce(t *testing.T) {
	ctx := testContext(t)
	ns := newNamespace(t)
	log := &requestLog{}
	c, err := helm.New(log.config(), helm.Config{Namespace: ns, HistoryMax: 2, Timeout: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, level := range []string{"a", "b", "c", "d"} {
		log.take()
		res, err := c.Deploy(ctx, "plain-module", moduleDir("020-plain-module"), testValues(t, "plainModule: {logLevel: "+level+"}"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Revision != i+1 {
			t.Fatalf("deploy %d: revision %d", i+1, res.Revision)
		}
		var lists []string
		for _, r := range log.take() {
			if strings.HasPrefix(r, "GET /api/v1/namespaces/"+ns+"/secrets?") {
				lists = append(lists, r)
			}
		}
		if len(lists) != 1 {
			t.Errorf("deploy %d (%s) listed the release's records %d times, want once:\n%s", i+1, res.Reason, len(lists), strings.Join(lists, "\n"))
		}
	}
}
