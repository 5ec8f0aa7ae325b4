package config

import (
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
)

// FileSuffix turns a variable into one naming a file that holds the value, the convention of
// Docker and Kubernetes secrets: GATEHOUSE__AUTH__JWT_SECRET_FILE=/run/secrets/jwt.
const FileSuffix = "_FILE"

// maxSecretFile bounds what a _FILE variable may make us read: a value, not a disk image.
const maxSecretFile = 64 << 10

// envValue reads variable name, or the file named by name_FILE, and says which it used. Setting
// both is refused rather than silently preferring one: an operator who sets both means one of
// them to be gone. A file's trailing newline is dropped (editors and `echo` add one).
func envValue(name string, getenv func(string) string) (value, from string, err error) {
	direct, fileName := getenv(name), getenv(name+FileSuffix)
	switch {
	case fileName == "":
		return direct, "environment variable " + name, nil
	case direct != "":
		return "", "", fmt.Errorf("both %s and %s%s are set; set only one", name, name, FileSuffix)
	}
	f, err := os.Open(fileName)
	if err != nil {
		return "", "", fmt.Errorf("environment variable %s%s: %w", name, FileSuffix, err)
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", "", fmt.Errorf("environment variable %s%s: reading %s: %w", name, FileSuffix, fileName, err)
	}
	if len(buf) > maxSecretFile {
		return "", "", fmt.Errorf("environment variable %s%s: %s is larger than %d bytes; it should hold one value", name, FileSuffix, fileName, maxSecretFile)
	}
	v := strings.TrimRight(string(buf), "\r\n")
	if v == "" {
		return "", "", fmt.Errorf("environment variable %s%s: %s is empty", name, FileSuffix, fileName)
	}
	return v, "file named by environment variable " + name + FileSuffix, nil
}

// secretsOutsideFile reports whether both secrets are given by flags or the environment, so a
// missing file need not be written.
func secretsOutsideFile(getenv func(string) string, o Overrides) bool {
	given := func(key string, flag *string) bool {
		name := field{key: key}.env()
		return flag != nil || getenv(name) != "" || getenv(name+FileSuffix) != ""
	}
	return given("auth.jwt_secret", o.JWTSecret) && given("auth.mfa_secret_key", o.MFASecretKey)
}

// UnknownEnv returns the GATEHOUSE__ variables in environ (KEY=VALUE pairs) that name no key, such
// as a misspelt GATEHOUSE__SERVER__LISTN, which Load would silently ignore.
func UnknownEnv(environ []string) []string {
	known := EnvVars()
	var out []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		if _, ok := known[name]; ok {
			continue
		}
		if _, ok := known[strings.TrimSuffix(name, FileSuffix)]; ok && strings.HasSuffix(name, FileSuffix) {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Setting is one key of the effective configuration as `gatehouse config check` shows it.
type Setting struct {
	Key, Value, Source string
}

// Settings lists every key with its value, secrets masked, and where the value came from.
// Secrets show only their length; a URL shows without its password.
func (c *Config) Settings(sources map[string]string) []Setting {
	var out []Setting
	for _, f := range fields(c) {
		var v string
		switch {
		case f.str != nil:
			v = fmt.Sprintf("%q", *f.str)
			// A SQLite DSN is a path, worth seeing; a PostgreSQL one may hold a password.
			if f.secret && *f.str != "" && !(f.key == "database.dsn" && c.Database.Driver == "sqlite") {
				v = mask(*f.str)
			}
		case f.list != nil:
			v = "[" + strings.Join(*f.list, ", ") + "]"
		default:
			v = fmt.Sprint(*f.flag)
		}
		src := sources[f.key]
		if src == "" {
			src = "default"
		}
		out = append(out, Setting{Key: f.key, Value: v, Source: src})
	}
	return out
}

// mask hides a secret. A URL keeps its scheme, host and path (useful to check, not secret) with
// the password replaced; anything else shows only its length.
func mask(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" && u.Host != "" {
		hidden := ""
		if u.RawQuery != "" {
			u.RawQuery, hidden = "", " (query hidden)"
		}
		return fmt.Sprintf("%q%s", u.Redacted(), hidden)
	}
	return fmt.Sprintf("(set, %d characters)", len(s))
}

// ListenAddr is server.listen from the environment, else the file (when it exists), else the
// default. It does not validate the rest, so a health check works with only what it needs.
func ListenAddr(path string, getenv func(string) string) (string, error) {
	if v, _, err := envValue(field{key: "server.listen"}.env(), getenv); err != nil || v != "" {
		return v, err
	}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return DefaultListen, nil
	}
	if err != nil {
		return "", fmt.Errorf("reading configuration file %s: %w", path, unwrapPathError(err))
	}
	var c struct {
		Server struct {
			Listen string `toml:"listen"`
		} `toml:"server"`
	}
	if err := toml.Unmarshal(data, &c); err != nil || c.Server.Listen == "" {
		return DefaultListen, nil
	}
	return c.Server.Listen, nil
}
