# nginx and Caddy for the forward-auth tests through real reverse proxies (e2e/proxy_test.go).
# The tests start them as the test user with generated configurations on free loopback ports;
# no system service is used, so the packages' own services are stopped if apt started them.
if ! command -v nginx >/dev/null 2>&1 || ! command -v caddy >/dev/null 2>&1; then
  echo "installing nginx-light and caddy"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nginx-light caddy >/dev/null
  # apt may start them on ports 80/2019; the tests need neither.
  (systemctl stop nginx caddy || service nginx stop || true) >/dev/null 2>&1 || true
fi
nginx -v
caddy version
export GATEHOUSE_TEST_REQUIRE="${GATEHOUSE_TEST_REQUIRE},nginx,caddy"
