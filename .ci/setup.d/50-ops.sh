# Tools for the deployment checks (issue 19): podman + runc build and run the container image,
# systemd-analyze verifies the unit, Helm lints and renders the chart. Sourced by .ci/run.
export DEBIAN_FRONTEND=noninteractive
ops_missing=()
command -v podman >/dev/null 2>&1 || ops_missing+=(podman)
command -v runc >/dev/null 2>&1 || ops_missing+=(runc)
command -v systemd-analyze >/dev/null 2>&1 || ops_missing+=(systemd)
# caddy adapts the Compose example's Caddyfile.
command -v caddy >/dev/null 2>&1 || ops_missing+=(caddy)
# The image takes the build host's CA certificates and tzdata.
[ -f /etc/ssl/certs/ca-certificates.crt ] || ops_missing+=(ca-certificates)
[ -d /usr/share/zoneinfo ] || ops_missing+=(tzdata)
if [ "${#ops_missing[@]}" -gt 0 ]; then
  echo "installing ${ops_missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${ops_missing[@]}" >/dev/null
fi

# Helm v4 from the Go module proxy, built once and cached (about 10 minutes cold, mostly
# downloading modules; nothing at test time).
ops_helm_dir="$GATEHOUSE_CI_CACHE/helm-v4.3.2"
if [ ! -x "$ops_helm_dir/helm" ]; then
  echo "building helm v4.3.2 into $ops_helm_dir"
  mkdir -p "$ops_helm_dir"
  GOBIN="$ops_helm_dir" GOFLAGS=-buildvcs=false go install helm.sh/helm/v4/cmd/helm@v4.3.2
fi
export PATH="$ops_helm_dir:$PATH"
helm version --short

export GATEHOUSE_TEST_REQUIRE="$GATEHOUSE_TEST_REQUIRE,podman,helm,systemd-analyze,caddy"
unset ops_missing ops_helm_dir
