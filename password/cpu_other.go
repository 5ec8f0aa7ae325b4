//go:build !unix

package password

import "time"

// processCPU is not measured here: the pool never paces (Hasher.hold).
func processCPU() time.Duration { return 0 }
