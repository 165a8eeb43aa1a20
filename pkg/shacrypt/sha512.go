package shacrypt

import (
	"crypto/sha512"
	"hash"
	"strconv"
	"strings"
)

const (
	// DefaultRounds is the specification's round count when the salt names
	// none; the output then carries no "rounds=" field.
	DefaultRounds = 5000
	// MinRounds and MaxRounds bound an explicit round count: the
	// specification clamps, it does not refuse.
	MinRounds = 1000
	MaxRounds = 999999999
	// MaxSaltLen is how many salt characters count; the rest is ignored.
	MaxSaltLen = 16
)

// alphabet is crypt's base-64 alphabet, not RFC 4648's.
const alphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Crypt512 is the SHA-512 crypt string of password with salt, as glibc's
// crypt(password, "$6$"+salt) returns it: "$6$SALT$HASH", or
// "$6$rounds=N$SALT$HASH" when salt starts with "rounds=N$". salt may also
// start with "$6$" and end with "$". As in the specification, only the
// first 16 salt characters are used and N is clamped to [1000, 999999999].
func Crypt512(password, salt string) string {
	salt = strings.TrimPrefix(salt, "$6$")
	rounds, explicit := DefaultRounds, false
	if rest, ok := strings.CutPrefix(salt, "rounds="); ok {
		if n, tail, ok := strings.Cut(rest, "$"); ok {
			if r, err := strconv.ParseUint(n, 10, 64); err == nil {
				rounds, explicit, salt = int(min(max(r, MinRounds), MaxRounds)), true, tail
			}
		}
	}
	salt, _, _ = strings.Cut(salt, "$")
	if len(salt) > MaxSaltLen {
		salt = salt[:MaxSaltLen]
	}
	var out strings.Builder
	out.WriteString("$6$")
	if explicit {
		out.WriteString("rounds=" + strconv.Itoa(rounds) + "$")
	}
	out.WriteString(salt + "$")
	out.WriteString(encode(sum512([]byte(password), []byte(salt), rounds)))
	return out.String()
}

// sum512 is the specification's steps 1 to 21: the final digest C.
func sum512(p, s []byte, rounds int) []byte {
	h := sha512.New()
	// B = SHA512(P S P).
	b := digest(h, p, s, p)

	// A = SHA512(P S, then B repeated to len(P) bytes, then for each bit of
	// len(P), lowest first, B for a one and P for a zero).
	h.Reset()
	h.Write(p)
	h.Write(s)
	h.Write(repeat(b, len(p)))
	for n := len(p); n > 0; n >>= 1 {
		if n&1 == 1 {
			h.Write(b)
		} else {
			h.Write(p)
		}
	}
	a := h.Sum(nil)

	// The P and S sequences: digests of P repeated len(P) times and of S
	// repeated 16+A[0] times, cut or repeated to len(P) and len(S) bytes.
	h.Reset()
	for range len(p) {
		h.Write(p)
	}
	pseq := repeat(h.Sum(nil), len(p))
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	sseq := repeat(h.Sum(nil), len(s))

	c := a
	for i := range rounds {
		h.Reset()
		if i%2 == 1 {
			h.Write(pseq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sseq)
		}
		if i%7 != 0 {
			h.Write(pseq)
		}
		if i%2 == 1 {
			h.Write(c)
		} else {
			h.Write(pseq)
		}
		c = h.Sum(c[:0])
	}
	return c
}

// digest is the hash of the parts written in order; h is reset first.
func digest(h hash.Hash, parts ...[]byte) []byte {
	h.Reset()
	for _, part := range parts {
		h.Write(part)
	}
	return h.Sum(nil)
}

// repeat is d repeated and cut to n bytes.
func repeat(d []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, d[:min(len(d), n-len(out))]...)
	}
	return out
}

// encode is the specification's step 22 for SHA-512: the 64 bytes of c in
// 21 groups of three plus one lone byte, each group written as four
// characters (the lone byte as two), least significant six bits first. Group
// i takes bytes i, i+21 and i+42, rotated by i mod 3.
func encode(c []byte) string {
	var out strings.Builder
	for i := range 21 {
		x, y, z := c[i], c[i+21], c[i+42]
		switch i % 3 {
		case 1:
			x, y, z = y, z, x
		case 2:
			x, y, z = z, x, y
		}
		put(&out, uint32(x)<<16|uint32(y)<<8|uint32(z), 4)
	}
	put(&out, uint32(c[63]), 2)
	return out.String()
}

// put writes the n lowest six-bit groups of w, lowest first.
func put(out *strings.Builder, w uint32, n int) {
	for range n {
		out.WriteByte(alphabet[w&0x3f])
		w >>= 6
	}
}
