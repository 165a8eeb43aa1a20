package debug

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestUnifiedDiff(t *testing.T) {
	lines := func(n ...int) string {
		var b strings.Builder
		for _, i := range n {
			fmt.Fprintf(&b, "l%d\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name     string
		from, to string
		want     string
	}{
		{name: "equal", from: lines(1, 2, 3), to: lines(1, 2, 3), want: ""},
		{name: "both empty", want: ""},
		{
			name: "from nothing",
			to:   lines(1, 2),
			want: "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+l1\n+l2\n",
		},
		{
			name: "to nothing",
			from: lines(1, 2),
			want: "--- a\n+++ b\n@@ -1,2 +0,0 @@\n-l1\n-l2\n",
		},
		{
			name: "one change with context",
			from: lines(1, 2, 3, 4, 5, 6, 7, 8, 9),
			to:   lines(1, 2, 3, 4, 50, 6, 7, 8, 9),
			want: "--- a\n+++ b\n@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+l50\n l6\n l7\n l8\n",
		},
		{
			name: "insertion at the end",
			from: lines(1, 2, 3, 4, 5),
			to:   lines(1, 2, 3, 4, 5, 6),
			want: "--- a\n+++ b\n@@ -3,3 +3,4 @@\n l3\n l4\n l5\n+l6\n",
		},
		{
			name: "close changes share a hunk",
			from: lines(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
			to:   lines(1, 20, 3, 4, 5, 6, 7, 80, 9, 10),
			want: "--- a\n+++ b\n@@ -1,10 +1,10 @@\n l1\n-l2\n+l20\n l3\n l4\n l5\n l6\n l7\n-l8\n+l80\n l9\n l10\n",
		},
		{
			name: "six unchanged lines between changes still share a hunk",
			from: lines(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
			to:   lines(1, 20, 3, 4, 5, 6, 7, 8, 90, 10),
			want: "--- a\n+++ b\n@@ -1,10 +1,10 @@\n l1\n-l2\n+l20\n l3\n l4\n l5\n l6\n l7\n l8\n-l9\n+l90\n l10\n",
		},
		{
			name: "distant changes get two hunks",
			from: lines(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
			to:   lines(10, 2, 3, 4, 5, 6, 7, 8, 9, 10, 110),
			want: "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-l1\n+l10\n l2\n l3\n l4\n@@ -8,4 +8,4 @@\n l8\n l9\n l10\n-l11\n+l110\n",
		},
		{
			name: "an object removed between repeated separators",
			from: "---\nkind: A\n---\nkind: B\n",
			to:   "---\nkind: B\n",
			want: "--- a\n+++ b\n@@ -1,4 +1,2 @@\n ---\n-kind: A\n----\n kind: B\n",
		},
		{
			name: "missing final newline is not a change",
			from: "l1\nl2",
			to:   "l1\nl2\n",
			want: "",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := unifiedDiff("a", "b", tt.from, tt.to)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnifiedDiffApplies checks on random texts that applying the diff to
// the old text gives the new one and that the hunk headers count right.
func TestUnifiedDiffApplies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	text := func() []string {
		n := r.IntN(40)
		out := make([]string, n)
		for i := range out {
			out[i] = "line " + strconv.Itoa(r.IntN(12))
		}
		return out
	}
	for i := range 2000 {
		x := text()
		y := append([]string(nil), x...)
		// Edit a copy so the texts share most lines, as revisions do.
		for range r.IntN(5) {
			p := r.IntN(len(y) + 1)
			switch r.IntN(3) {
			case 0:
				y = append(y[:p], append([]string{"new " + strconv.Itoa(r.IntN(5))}, y[p:]...)...)
			case 1:
				if p < len(y) {
					y = append(y[:p], y[p+1:]...)
				}
			case 2:
				if p < len(y) {
					y[p] = "changed " + strconv.Itoa(r.IntN(5))
				}
			}
		}
		if i%4 == 0 {
			y = text()
		}
		from, to := joinLines(x), joinLines(y)
		d := unifiedDiff("a", "b", from, to)
		if (d == "") != (from == to) {
			t.Fatalf("case %d: diff %q for %q -> %q", i, d, from, to)
		}
		got, err := applyDiff(x, d)
		if err != nil {
			t.Fatalf("case %d: %v\nfrom:\n%s\nto:\n%s\ndiff:\n%s", i, err, from, to, d)
		}
		if diff := cmp.Diff(y, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("case %d: applying the diff (-want +got):\n%s\ndiff:\n%s", i, diff, d)
		}
	}
}

func joinLines(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return strings.Join(lines, "\n") + "\n"
}

// applyDiff applies a unified diff, checking every context and removed
// line and each hunk's header.
func applyDiff(x []string, d string) ([]string, error) {
	if d == "" {
		return x, nil
	}
	lines := strings.Split(strings.TrimSuffix(d, "\n"), "\n")
	if lines[0] != "--- a" || lines[1] != "+++ b" {
		return nil, fmt.Errorf("bad header %q", lines[:2])
	}
	var out []string
	next := 0 // next line of x to copy
	for i := 2; i < len(lines); {
		var xs, xn, ys, yn int
		if _, err := fmt.Sscanf(lines[i], "@@ -%d,%d +%d,%d @@", &xs, &xn, &ys, &yn); err != nil {
			return nil, fmt.Errorf("hunk header %q: %v", lines[i], err)
		}
		start := xs - 1
		if xn == 0 {
			start = xs
		}
		if start < next {
			return nil, fmt.Errorf("hunk %q overlaps the previous one", lines[i])
		}
		out = append(out, x[next:start]...)
		if want := len(out) + 1; yn > 0 && ys != want || yn == 0 && ys != want-1 {
			return nil, fmt.Errorf("hunk %q: new text starts at %d, want %d", lines[i], ys, want)
		}
		next = start
		i++
		var gotX, gotY int
		for ; i < len(lines) && !strings.HasPrefix(lines[i], "@@"); i++ {
			op, text := lines[i][0], lines[i][1:]
			switch op {
			case ' ', '-':
				if next >= len(x) || x[next] != text {
					return nil, fmt.Errorf("line %q does not match the old text", lines[i])
				}
				next++
				gotX++
				if op == ' ' {
					out = append(out, text)
					gotY++
				}
			case '+':
				out = append(out, text)
				gotY++
			default:
				return nil, fmt.Errorf("bad line %q", lines[i])
			}
		}
		if gotX != xn || gotY != yn {
			return nil, fmt.Errorf("hunk counts %d,%d; header says %d,%d", gotX, gotY, xn, yn)
		}
	}
	return append(out, x[next:]...), nil
}
