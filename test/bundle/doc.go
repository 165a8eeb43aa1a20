// Package bundle holds the tests of the built-in bundle (the repository
// root's values.yaml, modules/ and global-hooks/) that need no running
// operator and, but for the server-side dry run, no cluster: hooks run as
// processes on crafted binding contexts, charts rendered with the Helm SDK,
// schemas checked with pkg/schema.
//
// Hooks run with a PATH of bash, coreutils and the repository's bin/ only
// (hookPATH: jq is bin/jq, gojq, from `make tools`), never the machine's, and
// with ADDON_OPERATOR_BIN naming an operator built from this checkout: the
// tests prove that the shipped hooks need nothing a fresh machine lacks.
// shellcheck lints them when installed and is optional.
package bundle
