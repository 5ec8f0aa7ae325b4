package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/testdb"
	"go.yaml.in/yaml/v3"
)

const chart = "helm/gatehouse"

func helmBin(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("helm")
	if err != nil {
		testdb.Unavailable(t, "helm", "helm is not on PATH (.ci/setup.d/50-ops.sh builds helm.sh/helm/v4 v4.3.2)")
	}
	return bin
}

// render runs helm template and parses every document into a generic object.
func render(t *testing.T, args ...string) (map[string]map[string]any, string, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), append([]string{"template", "gh", chart, "--namespace", "auth"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, errb.String(), err
	}
	objs := map[string]map[string]any{}
	dec := yaml.NewDecoder(&out)
	for {
		var o map[string]any
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("rendered YAML does not parse: %v", err)
		}
		if o == nil {
			continue
		}
		kind, _ := o["kind"].(string)
		name, _ := dig(o, "metadata", "name").(string)
		if kind == "" || name == "" || o["apiVersion"] == nil {
			t.Fatalf("an object without apiVersion, kind or name: %v", o)
		}
		objs[kind+"/"+name] = o
	}
	return objs, errb.String(), nil
}

func dig(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := o.(map[string]any)
			o = m[k]
		case int:
			l, _ := o.([]any)
			if k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func envOf(container any) map[string]any {
	m := map[string]any{}
	list, _ := dig(container, "env").([]any)
	for _, e := range list {
		name, _ := dig(e, "name").(string)
		if v := dig(e, "value"); v != nil {
			m[name] = v
		} else {
			m[name] = dig(e, "valueFrom")
		}
	}
	return m
}

func TestHelmChartRenders(t *testing.T) {
	t.Parallel()
	objs, stderr, err := render(t, "--values", chart+"/ci/full-values.yaml")
	if err != nil {
		t.Fatalf("helm template: %v\n%s", err, stderr)
	}
	for _, want := range []string{"Deployment/gh-gatehouse", "Service/gh-gatehouse", "Secret/gh-gatehouse", "Secret/gh-gatehouse-database",
		"PodDisruptionBudget/gh-gatehouse", "Ingress/gh-gatehouse", "Ingress/gh-gatehouse-protect-whoami", "ConfigMap/gh-gatehouse-auth-headers"} {
		if objs[want] == nil {
			t.Errorf("missing %s", want)
		}
	}
	dep := objs["Deployment/gh-gatehouse"]
	if dig(dep, "spec", "replicas") != 3 {
		t.Errorf("replicas = %v", dig(dep, "spec", "replicas"))
	}
	spec := dig(dep, "spec", "template", "spec")
	c := dig(spec, "containers", 0)
	for _, probe := range []string{"readinessProbe", "livenessProbe", "startupProbe"} {
		if dig(c, probe, "httpGet", "path") == nil {
			t.Errorf("no %s", probe)
		}
	}
	if dig(c, "readinessProbe", "httpGet", "path") != "/readyz" || dig(c, "livenessProbe", "httpGet", "path") != "/healthz" {
		t.Error("probes do not use /readyz and /healthz")
	}
	if dig(c, "resources", "requests", "memory") == nil || dig(c, "resources", "limits", "memory") == nil {
		t.Error("no memory request and limit")
	}
	if dig(c, "securityContext", "readOnlyRootFilesystem") != true || dig(spec, "securityContext", "runAsNonRoot") != true {
		t.Error("not read-only and non-root")
	}
	env := envOf(c)
	for name, want := range map[string]string{
		"GATEHOUSE__SERVER__PUBLIC_URL":        "https://auth.example.com",
		"GATEHOUSE__DATABASE__DRIVER":          "postgres",
		"GATEHOUSE__SERVER__TRUSTED_PROXIES":   "10.244.0.0/16",
		"GATEHOUSE__SERVER__COOKIE_DOMAIN":     "example.com",
		"GATEHOUSE__AUTH__JWT_SECRET_FILE":     "/run/secrets/gatehouse/jwt_secret",
		"GATEHOUSE__AUTH__MFA_SECRET_KEY_FILE": "/run/secrets/gatehouse/mfa_secret_key",
	} {
		if env[name] != want {
			t.Errorf("env %s = %v, want %q", name, env[name], want)
		}
	}
	if dig(env["GATEHOUSE__DATABASE__DSN"], "secretKeyRef", "name") != "gatehouse-db" {
		t.Errorf("DSN not from the existing Secret: %v", env["GATEHOUSE__DATABASE__DSN"])
	}
	if dig(env["GATEHOUSE__REDIS__URL"], "secretKeyRef", "key") != "redis_url" {
		t.Errorf("Redis URL not from the chart's Secret: %v", env["GATEHOUSE__REDIS__URL"])
	}
	// Every key of the Secret the pods read is there, and the generated secrets are long.
	sec := objs["Secret/gh-gatehouse"]
	for _, k := range []string{"jwt_secret", "mfa_secret_key"} {
		if v, _ := dig(sec, "data", k).(string); len(v) < 44 {
			t.Errorf("secret %s = %q, want a generated value", k, v)
		}
	}
	// Seed 003: bootstrapAdmin.existingSecret feeds `users bootstrap-admin` in an init container.
	init := dig(spec, "initContainers", 0)
	args, _ := dig(init, "args").([]any)
	joined := strings.Join(toStrings(args), " ")
	if !strings.HasPrefix(joined, "users bootstrap-admin") || !strings.Contains(joined, "--password-file /run/secrets/bootstrap/password") {
		t.Errorf("init container args = %q", joined)
	}
	if dig(envOf(init)["BOOTSTRAP_EMAIL"], "secretKeyRef", "name") != "gatehouse-admin" {
		t.Errorf("bootstrap email not from bootstrapAdmin.existingSecret")
	}
	ann, _ := dig(objs["Ingress/gh-gatehouse-protect-whoami"], "metadata", "annotations").(map[string]any)
	if ann["nginx.ingress.kubernetes.io/auth-url"] != "http://gh-gatehouse.auth.svc.cluster.local:8080/api/auth/verify" ||
		!strings.HasPrefix(ann["nginx.ingress.kubernetes.io/auth-signin"].(string), "https://auth.example.com/login?rd=") {
		t.Errorf("forward-auth annotations: %v", ann)
	}
	if dig(objs["PodDisruptionBudget/gh-gatehouse"], "spec", "minAvailable") != 1 {
		t.Error("PodDisruptionBudget minAvailable is not 1")
	}
}

func toStrings(l []any) []string {
	out := make([]string, len(l))
	for i, v := range l {
		out[i], _ = v.(string)
	}
	return out
}

// Mistakes are refused at render time with a message naming the value.
func TestHelmChartRefusesBadValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "database.dsn or database.existingSecret.name is required"},
		{[]string{"--set", "database.dsn=postgres://x@db/gh", "--set", "publicURL=http://auth.example.com"}, "publicURL must be https://"},
		{[]string{"--set", "database.dsn=postgres://x@db/gh", "--set", "bootstrapAdmin.enabled=true"}, "bootstrapAdmin.existingSecret.name is required"},
	} {
		_, stderr, err := render(t, tc.args...)
		if err == nil || !strings.Contains(stderr, tc.want) {
			t.Errorf("helm template %v: err=%v, want %q in:\n%s", tc.args, err, tc.want, stderr)
		}
	}
	// Given secrets are used as they are.
	objs, stderr, err := render(t, "--set", "database.dsn=postgres://x@db/gh", "--set", "secrets.jwtSecret=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if v := dig(objs["Secret/gh-gatehouse"], "data", "jwt_secret"); v != "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYQ==" {
		t.Errorf("jwt_secret = %v", v)
	}
}
