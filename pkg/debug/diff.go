package debug

import (
	"fmt"
	"sort"
	"strings"
)

// diffContext is the number of unchanged lines around each change.
const diffContext = 3

// unifiedDiff returns the unified diff that turns from into to, with
// fromName and toName in its header, or "" when they have the same lines.
//
// Lines are matched the way patience diff does it: lines that occur once
// on each side anchor the match, the rest is matched around the anchors,
// recursively. That keeps the manifests' many repeated lines ("---",
// "metadata:") from pairing up across objects, and takes O(n log n) for
// typical inputs.
func unifiedDiff(fromName, toName, from, to string) string {
	x, y := splitLines(from), splitLines(to)
	ops := editScript(x, y, matchLines(x, y))
	hunks := groupHunks(ops)
	if len(hunks) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", fromName, toName)
	for _, h := range hunks {
		h.write(&b, ops)
	}
	return b.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// match pairs line x of the old text with line y of the new one.
type match struct{ x, y int }

// matchLines returns matching lines of x and y, increasing in both.
func matchLines(x, y []string) []match {
	var out []match
	var between func(x0, x1, y0, y1 int)
	between = func(x0, x1, y0, y1 int) {
		for x0 < x1 && y0 < y1 && x[x0] == y[y0] {
			out = append(out, match{x0, y0})
			x0, y0 = x0+1, y0+1
		}
		var suffix []match
		for x0 < x1 && y0 < y1 && x[x1-1] == y[y1-1] {
			x1, y1 = x1-1, y1-1
			suffix = append(suffix, match{x1, y1})
		}
		if anchors := uniqueAnchors(x, y, x0, x1, y0, y1); len(anchors) > 0 {
			px, py := x0, y0
			for _, a := range anchors {
				between(px, a.x, py, a.y)
				out = append(out, a)
				px, py = a.x+1, a.y+1
			}
			between(px, x1, py, y1)
		}
		for i := len(suffix) - 1; i >= 0; i-- {
			out = append(out, suffix[i])
		}
	}
	between(0, len(x), 0, len(y))
	return out
}

// uniqueAnchors pairs the lines that occur exactly once in x[x0:x1] and
// once in y[y0:y1], and keeps the longest chain increasing on both sides.
func uniqueAnchors(x, y []string, x0, x1, y0, y1 int) []match {
	type seen struct{ nx, ny, y int }
	count := map[string]*seen{}
	for i := x0; i < x1; i++ {
		s := count[x[i]]
		if s == nil {
			s = &seen{}
			count[x[i]] = s
		}
		s.nx++
	}
	for j := y0; j < y1; j++ {
		if s := count[y[j]]; s != nil {
			s.ny++
			s.y = j
		}
	}
	var cand []match
	for i := x0; i < x1; i++ {
		if s := count[x[i]]; s.nx == 1 && s.ny == 1 {
			cand = append(cand, match{i, s.y})
		}
	}
	// Longest increasing subsequence by y (cand is increasing by x).
	var tails []int
	prev := make([]int, len(cand))
	for k, c := range cand {
		n := sort.Search(len(tails), func(t int) bool { return cand[tails[t]].y >= c.y })
		prev[k] = -1
		if n > 0 {
			prev[k] = tails[n-1]
		}
		if n == len(tails) {
			tails = append(tails, k)
		} else {
			tails[n] = k
		}
	}
	if len(tails) == 0 {
		return nil
	}
	out := make([]match, len(tails))
	for i, k := len(tails)-1, tails[len(tails)-1]; i >= 0; i, k = i-1, prev[k] {
		out[i] = cand[k]
	}
	return out
}

// diffOp is one line of the edit script: ' ' kept, '-' removed, '+' added.
// x and y count the old and new lines before it.
type diffOp struct {
	kind byte
	line string
	x, y int
}

func editScript(x, y []string, matches []match) []diffOp {
	var ops []diffOp
	i, j := 0, 0
	emit := func(toX, toY int) {
		for ; i < toX; i++ {
			ops = append(ops, diffOp{'-', x[i], i, j})
		}
		for ; j < toY; j++ {
			ops = append(ops, diffOp{'+', y[j], i, j})
		}
	}
	for _, m := range matches {
		emit(m.x, m.y)
		ops = append(ops, diffOp{' ', x[i], i, j})
		i, j = i+1, j+1
	}
	emit(len(x), len(y))
	return ops
}

// hunk is the ops[from:to] of one @@ section.
type hunk struct{ from, to int }

func groupHunks(ops []diffOp) []hunk {
	var out []hunk
	for i := 0; i < len(ops); i++ {
		if ops[i].kind == ' ' {
			continue
		}
		start := max(0, i-diffContext)
		if n := len(out); n > 0 && start <= out[n-1].to {
			start = out[n-1].from
			out = out[:n-1]
		}
		end := i + 1
		for end < len(ops) && ops[end].kind != ' ' {
			end++
		}
		i = end - 1
		out = append(out, hunk{start, min(len(ops), end+diffContext)})
	}
	return out
}

func (h hunk) write(b *strings.Builder, ops []diffOp) {
	var nx, ny int
	for _, op := range ops[h.from:h.to] {
		if op.kind != '+' {
			nx++
		}
		if op.kind != '-' {
			ny++
		}
	}
	first := ops[h.from]
	fmt.Fprintf(b, "@@ -%s +%s @@\n", hunkRange(first.x, nx), hunkRange(first.y, ny))
	for _, op := range ops[h.from:h.to] {
		b.WriteByte(op.kind)
		b.WriteString(op.line)
		b.WriteByte('\n')
	}
}

// hunkRange formats a range of the unified format: "start,count", where an
// empty range starts at the line before it.
func hunkRange(before, n int) string {
	if n == 0 {
		return fmt.Sprintf("%d,0", before)
	}
	return fmt.Sprintf("%d,%d", before+1, n)
}
