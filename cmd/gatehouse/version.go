package main

import (
	"runtime"
	"runtime/debug"
)

// commit is stamped by the release build: -ldflags "-X main.commit=$(git rev-parse HEAD)". A plain
// `go build` in a git checkout records it too (vcs.revision), unless -buildvcs=false.
var commit = ""

// versionLine is what `gatehouse version` prints: version, commit and the Go release.
func versionLine() string {
	c := commit
	dirty := false
	if bi, ok := debug.ReadBuildInfo(); ok && c == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				c = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if c == "" {
		c = "unknown"
	}
	if dirty {
		c += "-dirty"
	}
	return "gatehouse " + version() + " (commit " + c + ", " + runtime.Version() + ")"
}
