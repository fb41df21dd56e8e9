#!/usr/bin/env bash
# Builds the pinned upstream Kubernetes and etcd binaries from source through the Go module proxy,
# once per version, into a cache outside the repository:
#   $MODELSHIP_CACHE/kubernetes/<k8s version>/bin/{kube-apiserver,kube-controller-manager,kube-scheduler,kubelet,kube-proxy,kubectl}
#   $MODELSHIP_CACHE/etcd/<etcd version>/bin/etcd
# Release binaries cannot be downloaded on these machines (no GitHub releases, no Google storage),
# so this is the way envtest-style control planes get their binaries here.
# Usage: build-binaries.sh            build what is missing and print the bin directories
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${MODELSHIP_CACHE:-$HOME/.cache/modelship}"
k8s_bin="$cache/kubernetes/$KUBE_VERSION/bin"
etcd_bin="$cache/etcd/$ETCD_VERSION/bin"
crictl_bin="$cache/cri-tools/$CRICTL_VERSION/bin"
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

die() { echo "build-binaries: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || die "Go is not installed. Install Go >= 1.24 (https://go.dev/doc/install, or your distribution's golang package) and run this again; the Kubernetes test binaries are built from source."

mkdir -p "$cache"
# One build at a time per cache: parallel test runs would otherwise race on the same output.
exec 9>"$cache/.build.lock"
flock 9

have_all() { local d=$1; shift; for c in "$@"; do [ -x "$d/$c" ] || return 1; done; }

build_kubernetes() {
  local work; work="$(mktemp -d "$cache/kube-build.XXXXXX")"
  trap 'rm -rf "$work"' RETURN
  echo "build-binaries: building Kubernetes $KUBE_VERSION (${k8s_cmds[*]}) from source; about 6 minutes on 2 cores the first time" >&2
  local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
  local staging_version="v0.${KUBE_VERSION#v1.}"
  # The staging modules that k8s.io/kubernetes replaces with ./staging/... are published as v0.X.Y twins.
  local gomod; gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || die "could not download k8s.io/kubernetes@$KUBE_VERSION through the Go module proxy ($(go env GOPROXY)); check network access to the proxy"
  {
    echo "module modelship.dev/kube-binaries"
    grep -E '^(go|godebug) ' "$gomod" || true
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    grep -oE '^[[:space:]]*k8s\.io/[a-z0-9-]+ => \./staging/' "$gomod" | awk '{print $1}' | sort -u |
      while read -r m; do echo "replace $m => $m $staging_version"; done
  } >"$work/go.mod"
  {
    echo "//go:build tools"
    echo "package tools"
    echo "import ("
    for c in "${k8s_cmds[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
    echo ")"
  } >"$work/tools.go"
  local ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (
    cd "$work"
    export GOFLAGS=-mod=mod CGO_ENABLED=0
    go mod tidy >/dev/null 2>&1 || true   # tidy with build tag 'tools' may prune; the build below resolves what is missing
    mkdir -p out
    local pkgs=(); for c in "${k8s_cmds[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
    go build -trimpath -tags selinux,notest -ldflags "$ld" -o out/ "${pkgs[@]}"
  ) || die "building Kubernetes $KUBE_VERSION failed (see the Go output above). It needs the Go module proxy and about 5 GB of free disk for Go caches."
  mkdir -p "$(dirname "$k8s_bin")"
  rm -rf "$k8s_bin.tmp"; mv "$work/out" "$k8s_bin.tmp"; rm -rf "$k8s_bin"; mv "$k8s_bin.tmp" "$k8s_bin"
}

build_etcd() {
  local work; work="$(mktemp -d "$cache/etcd-build.XXXXXX")"
  trap 'rm -rf "$work"' RETURN
  echo "build-binaries: building etcd $ETCD_VERSION from source" >&2
  (
    cd "$work"
    export GOFLAGS=-mod=mod CGO_ENABLED=0
    printf 'module modelship.dev/etcd-binary\n' >go.mod
    printf '//go:build tools\npackage tools\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
    go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >/dev/null
    mkdir -p out
    go build -trimpath -ldflags "-s -w" -o out/etcd go.etcd.io/etcd/server/v3
  ) || die "building etcd $ETCD_VERSION failed (see the Go output above)"
  mkdir -p "$(dirname "$etcd_bin")"
  rm -rf "$etcd_bin.tmp"; mv "$work/out" "$etcd_bin.tmp"; rm -rf "$etcd_bin"; mv "$etcd_bin.tmp" "$etcd_bin"
}

build_crictl() {
  echo "build-binaries: building crictl $CRICTL_VERSION from source" >&2
  local out="$crictl_bin.tmp"
  rm -rf "$out"; mkdir -p "$out"
  GOBIN="$out" CGO_ENABLED=0 GOFLAGS=-trimpath go install -ldflags "-s -w" "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" \
    || die "building crictl $CRICTL_VERSION failed (see the Go output above)"
  rm -rf "$crictl_bin"; mv "$out" "$crictl_bin"
}

have_all "$k8s_bin" "${k8s_cmds[@]}" || build_kubernetes
have_all "$etcd_bin" etcd || build_etcd
have_all "$crictl_bin" crictl || build_crictl
echo "KUBE_BIN_DIR=$k8s_bin"
echo "ETCD_BIN_DIR=$etcd_bin"
echo "CRICTL_BIN_DIR=$crictl_bin"
