#!/usr/bin/env bash
# helm lint on the chart, with the defaults (which lint, warning only that the database DSN is
# required) and with every optional part switched on; --strict makes any warning a failure.
# The rendered objects are checked by deploy/helm_test.go.
set -euo pipefail
cd "$(dirname "$0")/../.."
helm lint --strict deploy/helm/gatehouse --values deploy/helm/gatehouse/ci/full-values.yaml
helm lint deploy/helm/gatehouse --set database.dsn=postgres://gatehouse@db/gatehouse
