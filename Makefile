# addon-operator — see README.md. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

BIN := $(CURDIR)/bin
GO ?= go
export PATH := $(BIN):$(PATH)

.PHONY: help build test test-e2e bench lint dev tools

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

tools: ## build what the tests need into bin/: the local control plane (etcd, kube-*, kubectl, kwok), registry, jq (gojq)
	@test/tools/build.sh

build: ## build bin/addon-operator
	$(GO) build -o $(BIN)/addon-operator ./cmd/addon-operator

test: tools ## unit and integration tests on the real local cluster, then a stray-process check
	$(GO) test -count=1 -timeout 30m ./...
	@test/check-no-strays.sh

test-e2e: tools ## end-to-end tests only (operator process against the local cluster)
	$(GO) test -count=1 -timeout 45m ./test/...
	@test/check-no-strays.sh

# Packages with benchmarks: the others' TestMain would start a control plane for nothing.
BENCH_PKGS = $(sort $(patsubst %/,./%,$(dir $(shell grep -rl --include='*_test.go' '^func Benchmark' cmd pkg test))))

bench: tools ## benchmarks, one package at a time (about 30 min on 2 cores); figures in docs/performance.md
	$(GO) test -p 1 -count=1 -run '^$$' -bench . -benchmem -timeout 60m $(BENCH_PKGS)
	@test/check-no-strays.sh

lint: ## go vet and gofmt
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

dev: tools ## run the operator on this bundle in a local cluster with 3 fake nodes (Ctrl-C stops all)
	$(GO) build -o $(BIN)/addon-operator ./cmd/addon-operator
	$(GO) build -o $(BIN)/dev ./test/dev
	$(BIN)/dev
