// Package moduletest writes bundle directories for tests, with the file
// modes hooks need. It is for tests only.
//
// It owns the bundle fixture builders (File, Text, Script, Hook, Write,
// Bundle). Production code must not import it, and it never talks to the
// API server.
package moduletest
