package values

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

var moduleDirRe = regexp.MustCompile(`^(?:([0-9]+)-)?([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)$`)

// ModuleDir splits a module directory name "NNN-name" into its order and
// name. A directory without a numeric prefix has order 0. Names are
// lower-case letters, digits and dashes, starting and ending with a letter
// or digit.
func ModuleDir(dir string) (order int, name string, err error) {
	m := moduleDirRe.FindStringSubmatch(dir)
	if m == nil || strings.Trim(m[2], "-") == "" {
		return 0, "", fmt.Errorf("module directory %q: want NNN-name with lower-case letters, digits and dashes", dir)
	}
	if m[1] != "" {
		order, err = strconv.Atoi(m[1])
		if err != nil {
			return 0, "", fmt.Errorf("module directory %q: order prefix: %w", dir, err)
		}
	}
	return order, m[2], nil
}

// ValuesKey turns a module name into its camelCase values key:
// "ingress-nginx" → "ingressNginx", "l2-load-balancer" → "l2LoadBalancer".
// Repeated, leading and trailing dashes (and underscores) are ignored.
func ValuesKey(name string) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '-' || r == '_' })
	var b strings.Builder
	for i, p := range parts {
		if i == 0 {
			b.WriteString(strings.ToLower(p[:1]) + p[1:])
			continue
		}
		r := []rune(p)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	return b.String()
}

// EnabledKey is the ConfigMap and values key that switches a module on or
// off: ValuesKey(name) + "Enabled".
func EnabledKey(name string) string {
	return ValuesKey(name) + "Enabled"
}
