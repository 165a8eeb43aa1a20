package shacrypt

import (
	"bufio"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// CommandName is the operator's hidden subcommand that runs Command.
const CommandName = "sha512-crypt"

// Command is `addon-operator sha512-crypt [--salt SALT]`: it prints the
// SHA-512 crypt string of the password on stdin's first line (without its
// line ending), like `openssl passwd -6 -stdin`. Without --salt the salt is
// 16 random characters. The password is read from stdin only, so that it
// never appears in a process listing. It returns the exit code: 0, 1 when
// stdin cannot be read, 2 on bad usage.
func Command(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(CommandName, flag.ContinueOnError)
	fs.SetOutput(stderr)
	salt := fs.String("salt", "", "salt (up to 16 characters of ./0-9A-Za-z, optionally after rounds=N$); random when empty")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q: the password is read from stdin\n", CommandName, fs.Arg(0))
		return 2
	}
	if *salt == "" {
		*salt = randomSalt()
	}
	password, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "%s: read the password from stdin: %v\n", CommandName, err)
		return 1
	}
	password = strings.TrimSuffix(strings.TrimSuffix(password, "\n"), "\r")
	fmt.Fprintln(stdout, Crypt512(password, *salt))
	return 0
}

// randomSalt is MaxSaltLen characters of crypt's alphabet from crypto/rand.
func randomSalt() string {
	b := make([]byte, MaxSaltLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
