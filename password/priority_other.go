//go:build !linux

package password

import "errors"

// HashNice is the lowered priority of hashing threads on Linux; elsewhere hashes run at normal
// priority.
const HashNice = 0

func lowerThreadPriority() {}

func threadNice() (int, error) { return 0, errors.New("thread priorities are only lowered on Linux") }

func threadIdleClass() (bool, error) {
	return false, errors.New("thread scheduling classes are only changed on Linux")
}
