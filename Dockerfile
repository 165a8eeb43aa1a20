# syntax=docker/dockerfile:1
# The operator image: the binary, the built-in bundle in /addon-operator, and
# what the bundle's hooks call (bash, jq, kubectl; the password hook hashes
# with the binary's own sha512-crypt, not openssl). Untested here
# (no container engine on the development machines); see docs/operations.md.
#
#   docker build -t ghcr.io/seedops/addon-operator:dev .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY cmd/ cmd/
COPY pkg/ pkg/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/addon-operator ./cmd/addon-operator

# kubectl for hooks, a pinned release checked against its published SHA-256
# (https://dl.k8s.io/release/$KUBECTL_VERSION/bin/linux/$TARGETARCH/kubectl.sha256).
# Bump version and both sums together.
FROM debian:bookworm-slim AS kubectl
ARG TARGETARCH=amd64
ARG KUBECTL_VERSION=v1.34.4
ARG KUBECTL_SHA256_AMD64=d50c359d95e0841eaad08ddc27c7be37cba8fdccfba5c8e2ded65e121ff112db
ARG KUBECTL_SHA256_ARM64=5b982c0644ab1e27780246b9085a5886651b4a7ed86243acbb2bacc1bea01dda
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN set -eu; \
    case "$TARGETARCH" in \
      amd64) sum="$KUBECTL_SHA256_AMD64" ;; \
      arm64) sum="$KUBECTL_SHA256_ARM64" ;; \
      *) echo "no kubectl checksum for architecture $TARGETARCH" >&2; exit 1 ;; \
    esac; \
    curl -fsSLo /kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl"; \
    echo "${sum}  /kubectl" | sha256sum -c -; \
    chmod 0755 /kubectl

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends bash ca-certificates jq \
 && rm -rf /var/lib/apt/lists/*
COPY --from=kubectl /kubectl /usr/local/bin/kubectl
COPY --from=build /out/addon-operator /usr/local/bin/addon-operator
# The built-in bundle. Hooks must stay executable (COPY keeps the mode).
COPY values.yaml /addon-operator/values.yaml
COPY modules/ /addon-operator/modules/
COPY global-hooks/ /addon-operator/global-hooks/
# Where the operator finds the bundle (--bundle-dir, --modules-dir,
# --global-hooks-dir), and a writable place for hook files, the debug socket,
# downloaded releases and kubectl's cache: /tmp, an emptyDir in
# deploy/deployment.yaml (the root filesystem is read-only there).
ENV ADDON_OPERATOR_BUNDLE_DIR=/addon-operator \
    MODULES_DIR=/addon-operator/modules \
    GLOBAL_HOOKS_DIR=/addon-operator/global-hooks \
    TMPDIR=/tmp \
    HOME=/tmp
USER 65532:65532
EXPOSE 9650
ENTRYPOINT ["/usr/local/bin/addon-operator"]
