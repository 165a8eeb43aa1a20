package shacrypt_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/seedops/addon-operator/pkg/shacrypt"
)

// TestCrypt512 checks the SHA-512 test vectors published with the SHA-crypt
// specification (https://www.akkadia.org/drepper/SHA-crypt.txt): default
// and explicit rounds, salts cut at 16 characters, rounds clamped at 1000.
func TestCrypt512(t *testing.T) {
	tests := []struct {
		salt, password, want string
	}{
		{"$6$saltstring", "Hello world!",
			"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"$6$rounds=10000$saltstringsaltstring", "Hello world!",
			"$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"$6$rounds=5000$toolongsaltstring", "This is just a test",
			"$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
		{"$6$rounds=1400$anotherlongsaltstring", "a very much longer text to encrypt.  This one even stretches over morethan one line.",
			"$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
		{"$6$rounds=77777$short", "we have a short salt string but not a short password",
			"$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
		{"$6$rounds=123456$asaltof16chars..", "a short string",
			"$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
		{"$6$rounds=10$roundstoolow", "the minimum number is still observed",
			"$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
		// The salt as the hook passes it: bare, without "$6$".
		{"saltstring", "Hello world!",
			"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
	}
	for _, tt := range tests {
		t.Run(tt.salt, func(t *testing.T) {
			if got := shacrypt.Crypt512(tt.password, tt.salt); got != tt.want {
				t.Errorf("Crypt512(%q, %q)\n got %s\nwant %s", tt.password, tt.salt, got, tt.want)
			}
		})
	}
}

// TestCommand runs the hidden subcommand as the prometheus module's hook
// does: the password on stdin, the salt as a flag.
func TestCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		want     string // a regexp for stdout
	}{
		{name: "given salt", args: []string{"--salt", "saltstring"}, stdin: "Hello world!\n",
			want: `^\$6\$saltstring\$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n$`},
		{name: "no final newline", args: []string{"--salt", "saltstring"}, stdin: "Hello world!",
			want: `^\$6\$saltstring\$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n$`},
		{name: "first line only", args: []string{"--salt", "saltstring"}, stdin: "Hello world!\nsecond\n",
			want: `^\$6\$saltstring\$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1\n$`},
		{name: "random salt", stdin: "pw\n", want: `^\$6\$[./0-9A-Za-z]{16}\$[./0-9A-Za-z]{86}\n$`},
		{name: "password as argument", args: []string{"secret"}, stdin: "", wantCode: 2, want: `^$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := shacrypt.Command(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !regexp.MustCompile(tt.want).MatchString(stdout.String()) {
				t.Errorf("stdout %q does not match %s", stdout.String(), tt.want)
			}
		})
	}
}
