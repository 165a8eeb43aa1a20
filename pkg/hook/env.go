package hook

import (
	"fmt"
	"slices"
	"strings"
)

// passedEnv reports whether hooks get the operator's variable name without
// asking: what programs need to run (PATH, HOME, TMPDIR, time zone and
// locale) and what kubectl needs to reach the API server (the in-cluster
// service address, KUBECONFIG). The hook protocol's variables and
// ADDON_OPERATOR_NAMESPACE are set by the operator, not passed.
func passedEnv(name string) bool {
	switch name {
	case "PATH", "HOME", "TMPDIR", "TZ", "LANG", "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT":
		return true
	}
	return strings.HasPrefix(name, "LC_")
}

// hookEnv is the environment every hook starts with: the variables of
// environ that passedEnv or pass names, then extra (KEY=value), which wins
// over a passed variable of the same name.
func hookEnv(environ, pass, extra []string) []string {
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if ok && (passedEnv(name) || slices.Contains(pass, name)) {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// envNames is the --hook-env flag: variable names, repeatable or
// comma-separated.
type envNames struct{ names *[]string }

func (f envNames) String() string {
	if f.names == nil {
		return ""
	}
	return strings.Join(*f.names, ",")
}

func (f envNames) Set(v string) error {
	for name := range strings.SplitSeq(v, ",") {
		name = strings.TrimSpace(name)
		if !validEnvName(name) {
			return fmt.Errorf("want environment variable names such as HTTPS_PROXY, got %q", name)
		}
		*f.names = append(*f.names, name)
	}
	return nil
}

// validEnvName reports whether name is a POSIX shell variable name: what a
// hook script can read.
func validEnvName(name string) bool {
	if name == "" || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for _, c := range name {
		if c != '_' && (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
