# Ory Hydra, the real OpenID Provider the external-login tests (internal/hydratest) sign in
# against. Built from the Go module proxy once and cached: `go install` refuses Hydra's replace
# directive, so the module source is copied out of the module cache, the replace dropped and the
# binary built with -mod=mod (about five minutes on two cores). Sourced by .ci/run; also usable
# locally: `GATEHOUSE_CI_CACHE=/var/cache/gatehouse-ci . .ci/setup.d/40-hydra.sh`.
GATEHOUSE_HYDRA_VERSION=v2.3.0
GATEHOUSE_HYDRA_DIR="${GATEHOUSE_CI_CACHE:-/var/cache/gatehouse-ci}/hydra-$GATEHOUSE_HYDRA_VERSION"
if [ ! -x "$GATEHOUSE_HYDRA_DIR/hydra" ]; then
  echo "building Ory Hydra $GATEHOUSE_HYDRA_VERSION into $GATEHOUSE_HYDRA_DIR"
  (
    set -euo pipefail
    work=$(mktemp -d)
    trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
    src=$(cd "$work" && go mod download -json "github.com/ory/hydra/v2@$GATEHOUSE_HYDRA_VERSION" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -n "$src" ] || { echo "could not download github.com/ory/hydra/v2@$GATEHOUSE_HYDRA_VERSION"; exit 1; }
    cp -r "$src" "$work/hydra"
    chmod -R u+w "$work/hydra"
    cd "$work/hydra"
    go mod edit -dropreplace github.com/ory/hydra-client-go/v2
    mkdir -p "$GATEHOUSE_HYDRA_DIR"
    go build -mod=mod -o "$GATEHOUSE_HYDRA_DIR/hydra.partial" .
    mv "$GATEHOUSE_HYDRA_DIR/hydra.partial" "$GATEHOUSE_HYDRA_DIR/hydra"
  )
fi
"$GATEHOUSE_HYDRA_DIR/hydra" version >/dev/null
export PATH="$GATEHOUSE_HYDRA_DIR:$PATH"
export GATEHOUSE_TEST_REQUIRE="${GATEHOUSE_TEST_REQUIRE:+$GATEHOUSE_TEST_REQUIRE,}hydra"
