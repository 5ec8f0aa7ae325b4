#!/usr/bin/env bash
# Runs every Go fuzz target for a few seconds (GATEHOUSE_FUZZTIME, default 5s). A crash fails
# the run and leaves its input under the package's testdata/fuzz/<Target>/: commit that file, so
# the case runs as an ordinary test from then on, and fix the bug.
# FuzzClientIP and FuzzDecode live in small packages of their own (http/clientip, http/jsonbody):
# a fuzz build instruments every test dependency, and package http's (SQLite included) takes over
# ten minutes on two cores.
set -euo pipefail
fuzztime="${GATEHOUSE_FUZZTIME:-5s}"
targets=(
  ".:FuzzParseDuration"
  "./redirect:FuzzSafe"
  "./config:FuzzLoad"
  "./token:FuzzParse"
  "./password:FuzzVerify"
  "./http/clientip:FuzzClientIP"
  "./http/jsonbody:FuzzDecode"
)
for t in "${targets[@]}"; do
  pkg="${t%%:*}" name="${t##*:}"
  echo "fuzz $pkg $name ($fuzztime)"
  go test "$pkg" -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -parallel 2
done
