#!/usr/bin/env bash
# Builds the release binary: static (CGO_ENABLED=0), -trimpath (no build paths inside), stripped
# (-s -w: no symbol table or DWARF), version and commit stamped for `gatehouse version`.
#   deploy/build-release.sh [OUT]          (default OUT: ./gatehouse)
# GATEHOUSE_VERSION and GATEHOUSE_COMMIT override what git says; GOOS/GOARCH cross-compile.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-gatehouse}
commit=${GATEHOUSE_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
if [ -z "${GATEHOUSE_VERSION:-}" ]; then
  GATEHOUSE_VERSION=$(git describe --tags --exact-match 2>/dev/null || echo "0.1.0-dev+${commit:0:12}")
fi
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  commit="$commit-dirty"
fi
CGO_ENABLED=0 go build -trimpath -buildvcs=false \
  -ldflags "-s -w -X github.com/gatehouse/gatehouse.Version=$GATEHOUSE_VERSION -X main.commit=$commit" \
  -o "$out" ./cmd/gatehouse
echo "built $out: $("$out" version 2>/dev/null || echo "$GATEHOUSE_VERSION (cross-compiled)"), $(stat -c %s "$out") bytes"
