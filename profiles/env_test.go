package profiles

import (
	"strings"
	"testing"
)

func lookupIn(env map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func TestExpandEnv(t *testing.T) {
	env := lookupIn(map[string]string{"HOST": "svc", "EMPTY": "", "TOKEN": "s3cr3t"})
	for _, tt := range []struct {
		in, want string
		changed  bool
		err      string
	}{
		{in: "plain", want: "plain"},
		{in: "http://${HOST}:8080", want: "http://svc:8080", changed: true},
		{in: "${PORT:-9090}", want: "9090", changed: true},
		{in: "${HOST:-other}", want: "svc", changed: true},
		{in: "${EMPTY:-dflt}", want: "dflt", changed: true},
		{in: "[${EMPTY}]", want: "[]", changed: true},
		{in: "cost $$5, ${TOKEN}", want: "cost $5, s3cr3t", changed: true},
		{in: "$$${HOST}", want: "$svc", changed: true},
		{in: "a $ b $5 end$", want: "a $ b $5 end$"},
		{in: "${MISSING}", err: "environment variable MISSING is not set"},
		{in: "${HOST", err: "without a closing }"},
		{in: "${1X}", err: "want ${NAME}"},
		{in: "${}", err: "want ${NAME}"},
	} {
		got, changed, err := expandEnv(tt.in, env)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("expandEnv(%q): error %v, want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || changed != tt.changed {
			t.Errorf("expandEnv(%q) = %q, %v, %v; want %q, %v", tt.in, got, changed, err, tt.want, tt.changed)
		}
	}
}

const envProfile = `description: environment
target:
  url: http://${HOST:-127.0.0.1}:8080
requests:
  - name: items
    path: /api/items/1
    headers:
      Authorization: Bearer ${TOKEN}
      X-Price: "$$5"
phases:
  - name: baseline
    duration: ${DURATION:-5s}
    rate: ${RATE:-100}
`

func TestEnvExpandedForUseShownAsWritten(t *testing.T) {
	d, err := ParseEnv("env.yaml", "", []byte(envProfile), lookupIn(map[string]string{"TOKEN": "s3cr3t-t0ken", "RATE": "250"}))
	if err != nil {
		t.Fatal(err)
	}
	runs, err := d.Resolve(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := runs[0].Scenario
	if got := s.Requests[0].Headers["Authorization"]; got != "Bearer s3cr3t-t0ken" {
		t.Errorf("Authorization = %q, want the token expanded", got)
	}
	if got := s.Requests[0].Headers["X-Price"]; got != "$5" {
		t.Errorf("X-Price = %q, want $5", got)
	}
	if s.Target.URL != "http://127.0.0.1:8080" || s.Phases[0].Rate != 250 || s.Phases[0].Duration.String() != "5s" {
		t.Errorf("url %q, rate %v, duration %v: want the defaults and RATE=250", s.Target.URL, s.Phases[0].Rate, s.Phases[0].Duration)
	}
	for name, out := range map[string]string{"YAML": string(s.YAML()), "JSON": string(s.JSON())} {
		if strings.Contains(out, "s3cr3t") {
			t.Errorf("%s shows the secret:\n%s", name, out)
		}
		if !strings.Contains(out, "Bearer ${TOKEN}") || !strings.Contains(out, "${RATE:-100}") {
			t.Errorf("%s does not show the values as written:\n%s", name, out)
		}
	}
}

func TestEnvUnsetRefusedAtItsPosition(t *testing.T) {
	_, err := ParseEnv("env.yaml", "", []byte(envProfile), lookupIn(nil))
	if err == nil {
		t.Fatal("parsed with TOKEN unset")
	}
	want := "env.yaml:8:22: requests[0].headers.Authorization: environment variable TOKEN is not set"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error:\n%v\nwant it to contain:\n%s", err, want)
	}
}

func TestEnvSecretNotInValidationErrors(t *testing.T) {
	src := strings.Replace(envProfile, "path: /api/items/1", "path: ${ITEM_PATH}", 1)
	d, err := ParseEnv("env.yaml", "", []byte(src), lookupIn(map[string]string{"TOKEN": "x", "ITEM_PATH": "s3cr3t-path"}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Resolve(Options{})
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), `requests[0].path: found "${ITEM_PATH}", want a path starting with /`) {
		t.Errorf("error %v: want the path refused as written", err)
	}
}
