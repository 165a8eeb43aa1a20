package webhook

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

func TestHandlerReview(t *testing.T) {
	tests := []struct {
		name   string
		stored []runtime.Object
		// readFails makes reading the stored objects fail.
		readFails bool
		// edit is the new object, old the one it replaces (nil: a create).
		edit, old   runtime.Object
		wantAllowed bool
		// wantMessage are parts of the refusal message; wantWarning of the
		// warning of an allowed edit.
		wantMessage []string
		wantWarning string
		// wantAbsent must not be in the refusal.
		wantAbsent string
	}{
		{
			name:        "a valid edit is allowed",
			edit:        configMap(testNS, "addon-operator", map[string]string{"echo": "replicas: 2\n", "echoEnabled": "true", "global": "clusterName: a\n"}),
			wantAllowed: true,
		},
		{
			name:        "invalid YAML names the key and the line",
			edit:        configMap(testNS, "addon-operator", map[string]string{"echo": "replicas: 1\nmessage: [unclosed\n"}),
			wantMessage: []string{`configmap key "echo"`, "not valid YAML", "line "},
		},
		{
			name:        "a section that is not a map",
			edit:        configMap(testNS, "addon-operator", map[string]string{"echo": "- a\n- b\n"}),
			wantMessage: []string{`configmap key "echo"`, "bad section"},
		},
		{
			name:        "a schema violation names the field path",
			edit:        configMap(testNS, "addon-operator", map[string]string{"echo": "replicas: -1\n"}),
			wantMessage: []string{`section "echo"`, "schema violation", "echo.replicas"},
		},
		{
			name:        "the section of no known module is allowed with a warning",
			edit:        configMap(testNS, "addon-operator", map[string]string{"nope": "a: [\n", "nopeEnabled": "maybe"}),
			wantAllowed: true,
			wantWarning: `configmap key "nope": unknown key`,
		},
		{
			name:        "a bad enabled value",
			edit:        configMap(testNS, "addon-operator", map[string]string{"echoEnabled": "yes"}),
			wantMessage: []string{`configmap key "echoEnabled"`, `want "true" or "false"`},
		},
		{
			name:        "every problem at once",
			edit:        configMap(testNS, "addon-operator", map[string]string{"echo": "replicas: -1\n", "echoEnabled": "yes"}),
			wantMessage: []string{"2 new problems", `"echo"`, `"echoEnabled"`},
		},
		{
			name:        "an edit that leaves a pre-existing problem alone is allowed, the problem a warning",
			old:         configMap(testNS, "addon-operator", map[string]string{"echoEnabled": "yes", "echo": "replicas: 1\n"}),
			edit:        configMap(testNS, "addon-operator", map[string]string{"echoEnabled": "yes", "echo": "replicas: 2\n"}),
			wantAllowed: true,
			wantWarning: `still invalid, the operator keeps its last accepted config: configmap key "echoEnabled"`,
		},
		{
			name:        "an edit that adds a problem next to a pre-existing one is refused, naming the new one only",
			old:         configMap(testNS, "addon-operator", map[string]string{"echoEnabled": "yes", "echo": "replicas: 1\n"}),
			edit:        configMap(testNS, "addon-operator", map[string]string{"echoEnabled": "yes", "echo": "replicas: -1\n"}),
			wantMessage: []string{`section "echo"`, "echo.replicas"},
			wantAbsent:  `"echoEnabled"`,
		},
		{
			name:        "the stored configmap of no known module does not block a secret edit",
			stored:      []runtime.Object{configMap(testNS, "addon-operator", map[string]string{"dropped": "a: 1\n"})},
			old:         secret(testNS, "addon-operator-secrets", map[string]string{"echo": "password: x\n"}),
			edit:        secret(testNS, "addon-operator-secrets", map[string]string{"echo": "password: y\n"}),
			wantAllowed: true,
			wantWarning: `configmap key "dropped": unknown key`,
		},
		{
			name:        "the stored secret part is checked with the edit",
			stored:      []runtime.Object{secret(testNS, "addon-operator-secrets", map[string]string{"echo": "replicas: -3\n"})},
			edit:        configMap(testNS, "addon-operator", map[string]string{"echo": "message: hi\n"}),
			wantMessage: []string{"echo.replicas"},
		},
		{
			name:        "a secret edit is checked with the stored configmap",
			stored:      []runtime.Object{configMap(testNS, "addon-operator", map[string]string{"echo": "message: hi\n"})},
			edit:        secret(testNS, "addon-operator-secrets", map[string]string{"echo": "password: x\n", "echoEnabled": "true"}),
			wantMessage: []string{`secret key "echoEnabled"`, "belong in the configmap"},
		},
		{
			name:        "a valid secret edit is allowed",
			stored:      []runtime.Object{configMap(testNS, "addon-operator", map[string]string{"echo": "message: hi\n"})},
			edit:        secret(testNS, "addon-operator-secrets", map[string]string{"echo": "password: x\n"}),
			wantAllowed: true,
		},
		{
			name:        "another configmap of the namespace is not checked",
			edit:        configMap(testNS, "something-else", map[string]string{"nope": "[", "echoEnabled": "yes"}),
			wantAllowed: true,
		},
		{
			name:        "the same name in another namespace is not checked",
			edit:        configMap("elsewhere", "addon-operator", map[string]string{"nope": "["}),
			wantAllowed: true,
		},
		{
			name:        "another secret of the namespace is not checked",
			edit:        secret(testNS, "sh.helm.release.v1.echo.v1", map[string]string{"release": "x"}),
			wantAllowed: true,
		},
		{
			name:        "when the stored objects cannot be read the edit passes with a warning",
			readFails:   true,
			edit:        configMap(testNS, "addon-operator", map[string]string{"echoEnabled": "yes"}),
			wantAllowed: true,
			wantWarning: "not validated by the addon-operator",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client := fake.NewClientset(tt.stored...)
			if tt.readFails {
				client.PrependReactor("get", "*", func(k8stesting.Action) (bool, runtime.Object, error) {
					return true, nil, apierrors.NewServiceUnavailable("etcd is gone")
				})
			}
			h := &handler{client: client, namespace: testNS, configMap: "addon-operator", secret: "addon-operator-secrets", schemas: fakeSchemas{}, log: discardLog()}
			srv := httptest.NewServer(h)
			defer srv.Close()

			got := post(t, srv.Client(), srv.URL+Path, reviewFor(t, tt.edit, tt.old))
			if got.Allowed != tt.wantAllowed {
				t.Fatalf("allowed = %v, want %v (result %+v)", got.Allowed, tt.wantAllowed, got.Result)
			}
			if !tt.wantAllowed {
				if got.Result == nil {
					t.Fatal("a refusal without a result")
				}
				if diff := cmp.Diff(int32(http.StatusForbidden), got.Result.Code); diff != "" {
					t.Errorf("code (-want +got):\n%s", diff)
				}
				for _, want := range tt.wantMessage {
					if !strings.Contains(got.Result.Message, want) {
						t.Errorf("message lacks %q:\n%s", want, got.Result.Message)
					}
				}
				if tt.wantAbsent != "" && strings.Contains(got.Result.Message, tt.wantAbsent) {
					t.Errorf("message names %q:\n%s", tt.wantAbsent, got.Result.Message)
				}
			}
			if tt.wantWarning != "" && !strings.Contains(strings.Join(got.Warnings, "\n"), tt.wantWarning) {
				t.Errorf("warnings %q lack %q", got.Warnings, tt.wantWarning)
			}
			if tt.wantWarning == "" && len(got.Warnings) > 0 {
				t.Errorf("unexpected warnings %q", got.Warnings)
			}
		})
	}
}

// Secret values never appear in a refusal (they end up in the editor's
// terminal, audit logs and the operator's log).
func TestHandlerRefusalQuotesNoValue(t *testing.T) {
	client := fake.NewClientset()
	h := &handler{client: client, namespace: testNS, configMap: "addon-operator", secret: "addon-operator-secrets", schemas: fakeSchemas{}, log: discardLog()}
	srv := httptest.NewServer(h)
	defer srv.Close()
	got := post(t, srv.Client(), srv.URL+Path, reviewFor(t, secret(testNS, "addon-operator-secrets", map[string]string{"echoEnabled": "hunter2"}), nil))
	if got.Allowed {
		t.Fatal("an enabled flag in the secret was allowed")
	}
	if strings.Contains(got.Result.Message, "hunter2") {
		t.Errorf("the message quotes the value:\n%s", got.Result.Message)
	}
}

func TestHandlerBadRequests(t *testing.T) {
	h := &handler{client: fake.NewClientset(), namespace: testNS, configMap: "addon-operator", secret: "addon-operator-secrets", schemas: fakeSchemas{}, log: discardLog()}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tests := []struct {
		name   string
		method string
		body   string
		want   int
	}{
		{name: "not JSON", method: http.MethodPost, body: "{", want: http.StatusBadRequest},
		{name: "no request", method: http.MethodPost, body: `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, want: http.StatusBadRequest},
		{name: "GET", method: http.MethodGet, want: http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+Path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if diff := cmp.Diff(tt.want, resp.StatusCode); diff != "" {
				t.Errorf("status (-want +got):\n%s", diff)
			}
		})
	}
}
