package mask

import (
	"cmp"
	"encoding/base64"
	"slices"
	"strings"
	"sync/atomic"
)

// Text replaces a secret value; the same text as the debug API's masks.
const Text = "***"

// MinLen is the length in bytes below which a value is not masked.
const MinLen = 4

// Masker replaces secret values in text. The zero value masks nothing. Its
// methods are safe for concurrent use; Mask never blocks.
type Masker struct {
	r atomic.Pointer[strings.Replacer]
}

// New returns a Masker that masks nothing until Update.
func New() *Masker { return &Masker{} }

// Update replaces the secret values Mask hides by secrets: each value of
// at least MinLen bytes, its standard base64 encoding (Helm's b64enc), and
// each such line of a multi-line value (YAML block scalars and error
// messages split them). Where two overlap the longer wins.
func (m *Masker) Update(secrets []string) {
	set := map[string]bool{}
	add := func(s string) {
		if len(s) >= MinLen && s != Text {
			set[s] = true
		}
	}
	for _, s := range secrets {
		if len(s) < MinLen {
			continue
		}
		add(s)
		add(base64.StdEncoding.EncodeToString([]byte(s)))
		if strings.Contains(s, "\n") {
			for line := range strings.SplitSeq(s, "\n") {
				add(strings.TrimSpace(line))
			}
		}
	}
	if len(set) == 0 {
		m.r.Store(nil)
		return
	}
	list := make([]string, 0, len(set))
	for s := range set {
		list = append(list, s)
	}
	// strings.Replacer tries the old strings in argument order at each
	// position: longest first.
	slices.SortFunc(list, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, Text)
	}
	m.r.Store(strings.NewReplacer(pairs...))
}

// Mask returns s with every secret value replaced by Text. A nil Masker
// returns s.
func (m *Masker) Mask(s string) string {
	if m == nil || s == "" {
		return s
	}
	r := m.r.Load()
	if r == nil {
		return s
	}
	return r.Replace(s)
}
