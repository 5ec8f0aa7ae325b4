package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/access"
	"github.com/gatehouse/gatehouse/config"
	"github.com/gatehouse/gatehouse/internal/app"
)

// rulesFile is the TOML form of the access rules, for people who keep configuration in git:
//
//	[[rules]]
//	domains = ["app.example.com"]
//	paths = ["^/admin(/.*)?$"]
//	subjects = ["group:admins"]
//	policy = "two_factor"
type rulesFile struct {
	Rules []gatehouse.AccessRule `toml:"rules"`
}

const rulesHeader = `# gatehouse access rules (docs/access-control.md): first match wins; a request no rule
# matches gets the runtime setting access_default_policy. Load with: gatehouse rules import FILE
`

// rulesCommand runs `rules export` and `rules import FILE`.
func rulesCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"rules needs a subcommand: export or import FILE"}
	}
	fs := flag.NewFlagSet("rules "+args[0], flag.ContinueOnError)
	cfgPath := fs.String("config", "gatehouse.toml", "configuration file")
	switch args[0] {
	case "export", "import":
	default:
		return usageError{fmt.Sprintf("unknown rules subcommand %q (want export or import FILE)", args[0])}
	}
	// FILE may come before or after the flags.
	rest, file := args[1:], ""
	if args[0] == "import" && len(rest) > 0 && (rest[0] == "-" || rest[0] == "" || rest[0][0] != '-') {
		file, rest = rest[0], rest[1:]
	}
	fs.SetOutput(stderr)
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelpShown
		}
		return usageError{err.Error()}
	}
	if file == "" && args[0] == "import" && fs.NArg() == 1 {
		file = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if args[0] == "import" && file == "" {
		return usageError{"rules import needs one FILE (- for standard input)"}
	}
	res, err := config.Load(*cfgPath, getenv, config.Overrides{}, false)
	if err != nil {
		return err
	}
	store, err := app.OpenStore(ctx, res.Config)
	if err != nil {
		return err
	}
	defer store.Close()
	if args[0] == "export" {
		return exportRules(ctx, store, stdout)
	}
	return importRules(ctx, store, file, stdin, stdout)
}

func exportRules(ctx context.Context, store gatehouse.Store, stdout io.Writer) error {
	rules, err := store.AccessRules(ctx)
	if err != nil {
		return err
	}
	b, err := toml.Marshal(rulesFile{Rules: rules})
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(stdout, rulesHeader+"\n"+string(b))
	return err
}

func importRules(ctx context.Context, store gatehouse.Store, path string, stdin io.Reader, stdout io.Writer) error {
	var text []byte
	var err error
	if path == "-" {
		text, err = io.ReadAll(io.LimitReader(stdin, 4<<20))
	} else {
		text, err = os.ReadFile(path)
	}
	if err != nil {
		return fmt.Errorf("reading the rules: %w", err)
	}
	var f rulesFile
	dec := toml.NewDecoder(bytes.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var se *toml.StrictMissingError
		if errors.As(err, &se) && len(se.Errors) > 0 {
			de := se.Errors[0]
			row, col := de.Position()
			return fmt.Errorf("%s: line %d, column %d: unknown field %q (known: domains, paths, methods, networks, subjects, policy, name, url)", path, row, col, strings.Join(de.Key(), "."))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return fmt.Errorf("%s: line %d, column %d: %s", path, row, col, de.Error())
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	svc, err := access.New(ctx, access.Deps{Store: store})
	if err != nil {
		return err
	}
	// The CLI stands for an operator with access to the server's configuration: an admin.
	saved, err := svc.ReplaceRules(ctx, access.Actor{Admin: true, UserAgent: "gatehouse rules import"}, f.Rules)
	if err != nil {
		return userMessage(err)
	}
	fmt.Fprintf(stdout, "%d access rules saved; running servers apply them within a second\n", len(saved))
	return nil
}
