# oauth2-proxy v7.15.6, a real third-party OpenID Connect relying party for the provider's
# browser test (e2e/oauth2proxy_test.go). Built from the Go module proxy once and cached; the test
# finds it through GATEHOUSE_OAUTH2_PROXY and fails (not skips) because it is required here.
O2P_VERSION=v7.15.6
O2P_DIR="$GATEHOUSE_CI_CACHE/oauth2-proxy-$O2P_VERSION"
if [ ! -x "$O2P_DIR/oauth2-proxy" ]; then
  mkdir -p "$O2P_DIR"
  GOBIN="$O2P_DIR" CGO_ENABLED=0 go install "github.com/oauth2-proxy/oauth2-proxy/v7@$O2P_VERSION"
fi
# go install leaves the version string unset; the module version is in the build info.
go version -m "$O2P_DIR/oauth2-proxy" | grep "oauth2-proxy/v7[[:space:]]*$O2P_VERSION" >/dev/null
export GATEHOUSE_OAUTH2_PROXY="$O2P_DIR/oauth2-proxy"
export GATEHOUSE_TEST_REQUIRE="$GATEHOUSE_TEST_REQUIRE,oauth2-proxy"
