// Package shacrypt implements SHA-512 crypt ("$6$", Ulrich Drepper's
// SHA-crypt specification, https://www.akkadia.org/drepper/SHA-crypt.txt):
// the password hash of glibc's crypt(3), `openssl passwd -6` and
// `mkpasswd -m sha-512`, which NGINX and Apache accept in htpasswd files.
//
// It exists so that the shipped hooks need no openssl: they call the
// operator's hidden `sha512-crypt` command (Command). It only hashes; it
// does not verify, compare in constant time or parse crypt strings other
// than its own salt argument.
package shacrypt
