package helm

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"
)

// FieldManager is the server-side apply field manager of the operator.
const FieldManager = "addon-operator"

// crdPollInterval is how often ApplyCRDs checks that CRDs are established.
const crdPollInterval = 100 * time.Millisecond

// ApplyCRDs creates or updates (server-side apply, forced) every
// CustomResourceDefinition in the YAML files, multi-document files included,
// labelled with HeritageLabel; other documents are skipped. It returns once
// every CRD is Established and its kinds are usable by Deploy, or with the
// first error. Only apiextensions.k8s.io/v1 is accepted. Safe to call
// concurrently and repeatedly; an unchanged CRD is not rewritten.
func (c *Client) ApplyCRDs(ctx context.Context, files []string) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var names []string
	for _, f := range files {
		docs, err := crdDocuments(f)
		if err != nil {
			return fmt.Errorf("apply crds: %w", err)
		}
		for _, doc := range docs {
			name, err := c.applyCRD(ctx, doc)
			if err != nil {
				return fmt.Errorf("apply crds: %s: %w", f, err)
			}
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	defer c.api.refresh()
	if err := c.waitEstablished(ctx, names); err != nil {
		return fmt.Errorf("apply crds: %w", err)
	}
	return nil
}

// crdDocuments returns the CRD documents of a YAML file, as JSON objects.
func crdDocuments(file string) ([]map[string]any, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []map[string]any
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
		}
		if kind, _ := obj["kind"].(string); kind != "CustomResourceDefinition" {
			continue
		}
		if av, _ := obj["apiVersion"].(string); av != apiextensionsv1.SchemeGroupVersion.String() {
			return nil, fmt.Errorf("%s: document %d: CustomResourceDefinition of %s, want %s", file, i, av, apiextensionsv1.SchemeGroupVersion)
		}
		out = append(out, obj)
	}
}

func (c *Client) applyCRD(ctx context.Context, obj map[string]any) (string, error) {
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if name == "" {
		return "", errors.New("CustomResourceDefinition without metadata.name")
	}
	labels, ok := meta["labels"].(map[string]any)
	if !ok {
		labels = map[string]any{}
		meta["labels"] = labels
	}
	labels[HeritageLabel] = HeritageValue
	data, err := json.Marshal(obj)
	if err != nil {
		return "", fmt.Errorf("crd %s: %w", name, err)
	}
	_, err = c.crds.ApiextensionsV1().CustomResourceDefinitions().Patch(ctx, name, types.ApplyPatchType, data,
		metav1.PatchOptions{FieldManager: FieldManager, Force: ptr.To(true)})
	if err != nil {
		return "", fmt.Errorf("crd %s: %w", name, err)
	}
	return name, nil
}

// waitEstablished polls until every named CRD is Established.
func (c *Client) waitEstablished(ctx context.Context, names []string) error {
	pending := names
	for {
		var still []string
		for _, name := range pending {
			crd, err := c.crds.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("crd %s: %w", name, err)
			}
			ok, err := established(crd)
			if err != nil {
				return fmt.Errorf("crd %s: %w", name, err)
			}
			if !ok {
				still = append(still, name)
			}
		}
		if len(still) == 0 {
			return nil
		}
		pending = still
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for crds %s to be established: %w", strings.Join(pending, ", "), ctx.Err())
		case <-c.clock.After(crdPollInterval):
		}
	}
}

// established reports the CRD's Established condition; a rejected name is
// an error that waiting does not fix.
func established(crd *apiextensionsv1.CustomResourceDefinition) (bool, error) {
	ok := false
	for _, cond := range crd.Status.Conditions {
		switch {
		case cond.Type == apiextensionsv1.NamesAccepted && cond.Status == apiextensionsv1.ConditionFalse:
			return false, fmt.Errorf("names not accepted: %s", cond.Message)
		case cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue:
			ok = true
		}
	}
	return ok, nil
}
