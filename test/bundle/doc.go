// Package bundle holds the tests of the built-in bundle (the repository
// root's values.yaml, modules/ and global-hooks/) that need neither the
// operator binary nor a cluster: hooks run as processes on crafted binding
// contexts, charts rendered with the Helm SDK, schemas checked with
// pkg/schema. They need bash, jq and openssl on PATH.
package bundle
