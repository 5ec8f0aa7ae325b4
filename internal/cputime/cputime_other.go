//go:build !unix

// Package cputime reads the CPU time this process has used, for the hashing pool's pacing and
// for benchmarks that report CPU next to wall time.
package cputime

import "time"

// Self is not measured here: it is always 0 (the hashing pool then never paces).
func Self() time.Duration { return 0 }
