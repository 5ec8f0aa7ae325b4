#!/usr/bin/env bash
# Builds the gatehouse container image from local files only (no registry): the release binary,
# the build host's CA certificates and tzdata, and deploy/Containerfile.
#   deploy/build-image.sh [TAG]            (default TAG: localhost/gatehouse:dev)
# CONTAINER_ENGINE picks the builder (default: podman; "docker" works too), with any flags, e.g.
#   CONTAINER_ENGINE="podman --storage-driver=vfs --runtime=runc --cgroup-manager=cgroupfs"
# CA_CERTS and ZONEINFO override where the certificates and tzdata come from.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-localhost/gatehouse:dev}
engine=${CONTAINER_ENGINE:-podman}
ca=${CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
zi=${ZONEINFO:-/usr/share/zoneinfo}
for f in "$ca" "$zi"; do
  [ -e "$f" ] || { echo "build-image: $f is missing (apt-get install ca-certificates tzdata)" >&2; exit 1; }
done
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
deploy/build-release.sh "$ctx/gatehouse"
cp "$ca" "$ctx/ca-certificates.crt"
cp -rL "$zi" "$ctx/zoneinfo"
mkdir "$ctx/data"
version=$("$ctx/gatehouse" version | awk '{print $2}')
# --format docker keeps HEALTHCHECK (the OCI format has no field for it).
format=()
case "$engine" in *podman*) format=(--format docker) ;; esac
# shellcheck disable=SC2086
$engine build "${format[@]}" --build-arg "VERSION=$version" -t "$tag" -f deploy/Containerfile "$ctx"
echo "built image $tag ($version)"
