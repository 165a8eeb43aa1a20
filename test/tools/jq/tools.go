//go:build tools

// Package tools pins gojq, built as bin/jq for the shipped hooks (the jq
// dialect shell-operator itself evaluates jqFilter with). Its own module so
// that it does not move the control plane's pins. Built only by `make tools`.
package tools

import _ "github.com/itchyny/gojq/cmd/gojq"
