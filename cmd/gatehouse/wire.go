package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/auth"
)

func version() string { return gatehouse.Version }

// readPasswordStdin reads one line from stdin without its line ending.
func readPasswordStdin(stdin io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(stdin, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", usageError{"no password on stdin: pipe it in, e.g. printf '%s\\n' \"$PASSWORD\" | gatehouse ..."}
	}
	return pw, nil
}

// cliFlags parses a subcommand's flags, turning flag errors into usage errors.
func cliFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

// userMessage turns a coded error into one sentence for the terminal.
func userMessage(err error) error {
	var e *gatehouse.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}

type svcT = *auth.App
