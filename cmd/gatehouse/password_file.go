package main

import (
	"fmt"
	"io"
	"os"
)

// readPassword reads the password from file when one is named (an image without a shell cannot
// pipe a Kubernetes secret into stdin), else from stdin; either way the first line only.
func readPassword(file string, stdin io.Reader) (string, error) {
	if file == "" {
		return readPasswordStdin(stdin)
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("--password-file: %w", err)
	}
	defer f.Close()
	pw, err := readPasswordStdin(f)
	if err != nil {
		return "", fmt.Errorf("--password-file %s is empty", file)
	}
	return pw, nil
}
