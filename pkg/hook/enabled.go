package hook

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/seedops/addon-operator/pkg/values"
)

// Enabled runs a module's `enabled` script with VALUES_PATH,
// CONFIG_VALUES_PATH, MODULE_ENABLED_RESULT and MODULE_ENABLED_REASON, and
// returns its verdict: the result file must hold "true" or "false"; the
// reason file is optional free text.
func (r *Runner) Enabled(ctx context.Context, module, path string, vals, configVals values.Values) (bool, string, error) {
	files, err := newRunFiles(r.cfg.TmpDir)
	if err != nil {
		return false, "", err
	}
	defer files.remove()
	if err := files.writeInputs(Input{Values: vals, ConfigValues: configVals}); err != nil {
		return false, "", err
	}
	result := filepath.Join(files.dir, "enabled_result")
	reason := filepath.Join(files.dir, "enabled_reason")
	env := []string{
		envValues + "=" + files.paths[envValues],
		envConfigValues + "=" + files.paths[envConfigValues],
		"MODULE_ENABLED_RESULT=" + result,
		"MODULE_ENABLED_REASON=" + reason,
	}
	if _, err := r.exec(ctx, module+"/enabled", "enabled", path, nil, env, nil); err != nil {
		return false, "", err
	}
	data, err := readResult(result, "MODULE_ENABLED_RESULT", r.cfg.FileLimit)
	if err != nil {
		return false, "", err
	}
	if data == nil {
		return false, "", fmt.Errorf("%w: %s wrote nothing to MODULE_ENABLED_RESULT", ErrBadOutput, path)
	}
	why, err := readResult(reason, "MODULE_ENABLED_REASON", r.cfg.FileLimit)
	if err != nil {
		return false, "", err
	}
	switch v := strings.TrimSpace(string(data)); v {
	case "true":
		return true, strings.TrimSpace(string(why)), nil
	case "false":
		return false, strings.TrimSpace(string(why)), nil
	default:
		return false, "", fmt.Errorf("%w: %s wrote %q to MODULE_ENABLED_RESULT, want \"true\" or \"false\"", ErrBadOutput, path, v)
	}
}
