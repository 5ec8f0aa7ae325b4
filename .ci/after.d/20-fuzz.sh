#!/usr/bin/env bash
# Runs every Go fuzz target for a few seconds' worth of executions. A crash fails
# the run and leaves its input under the package's testdata/fuzz/<Target>/: commit that file, so
# the case runs as an ordinary test from then on, and fix the bug.
# FuzzClientIP and FuzzDecode live in small packages of their own (http/clientip, http/jsonbody):
# a fuzz build instruments every test dependency, and package http's (SQLite included) takes over
# ten minutes on two cores.
#
# The budgets are counts of executions (-fuzztime Nx), about five seconds of each target on this
# machine, not durations: with a duration, Go 1.26's fuzz coordinator can report its own
# deadline as a failure ("context deadline exceeded", no input written) when a worker is still
# busy as time runs out (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
# GATEHOUSE_FUZZTIME, when set, replaces every budget (e.g. 30s for a longer local run).
set -euo pipefail
targets=(
  ".:FuzzParseDuration:40000x"
  "./redirect:FuzzSafe:10000x"
  "./config:FuzzLoad:1500x"
  "./token:FuzzParse:60000x"
  "./password:FuzzVerify:8000x"
  "./http/clientip:FuzzClientIP:50000x"
  "./http/jsonbody:FuzzDecode:25000x"
)
for t in "${targets[@]}"; do
  IFS=: read -r pkg name budget <<<"$t"
  budget="${GATEHOUSE_FUZZTIME:-$budget}"
  echo "fuzz $pkg $name ($budget)"
  go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" -parallel 2
done
