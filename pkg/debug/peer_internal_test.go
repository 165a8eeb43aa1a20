package debug

import (
	"os"
	"path/filepath"
	"testing"
)

// The parent pid is read after the command name, which a process chooses
// and may fill with spaces and parentheses to forge the fields after it.
func TestPeerRuleParent(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    int
		wantErr bool
	}{
		{name: "plain", stat: "42 (sh) S 7 42 42 0 -1", want: 7},
		{name: "a forged name", stat: "42 (x) S 1 1 1 (y) S 9 42 42 0 -1", want: 9},
		{name: "no name", stat: "42 sh S 7", wantErr: true},
		{name: "cut short", stat: "42 (sh) S", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			proc := t.TempDir()
			if err := os.MkdirAll(filepath.Join(proc, "42"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(proc, "42", "stat"), []byte(tt.stat+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := peerRule{proc: proc}.parent(42)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parent = %d, %v; want %d (error %t)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
