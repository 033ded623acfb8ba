package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"
	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/internal/targetadmin"
	"github.com/goodput-dev/goodput/target"
)

// protectedTarget serves the reference target in-process with an admin
// token until the test ends and returns its API and admin URLs.
func protectedTarget(t *testing.T, token string) (api, admin string) {
	t.Helper()
	cfg, err := target.Preset(target.PresetUnprotected)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AdminToken = token
	cfg.DB.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(time.Millisecond)}
	cfg.DrainTimeout = dist.Duration(10 * time.Second)
	srv, err := target.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	api, admin, _ = e2e.Serve(t, srv)
	return api, admin
}

// writeFile writes text to name in dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadgen run against an external target whose admin API wants a token:
// the token comes from the profile's target.admin_token_file (relative to
// the profile), $LOADGEN_TARGET_ADMIN_TOKEN or --target-admin-token-file;
// without one, or with a wrong one, the run is refused in one line that
// names where a token comes from. (Before, every run got a bare 401.)
func TestRunWithAProtectedAdminAPI(t *testing.T) {
	const token = "s3cret-admin"
	api, admin := protectedTarget(t, token)
	dir := t.TempDir()
	writeFile(t, dir, "admin.token", token+"\n")
	tokenFile := writeFile(t, dir, "other.token", token+"\n")
	writeFile(t, dir, "wrong.token", "nope\n")
	profile := func(tokenLine string) string {
		return writeFile(t, dir, "p.yaml", "target: {url: \""+api+"\", admin: \""+admin+"\""+tokenLine+"}\n"+
			"requests: [{name: items, path: /api/items/1}]\n"+
			"phases: [{name: steady, duration: 400ms, rate: 20}]\n"+
			"faults: [{name: slow-db, kind: delay, target: db, at: 50ms, for: 200ms, delay: 5ms}]\n"+
			"report: {formats: [json]}\n")
	}
	client := &targetadmin.Client{BaseURL: admin, Token: token}
	restored := func(t *testing.T) {
		t.Helper()
		if c, err := client.Dep(context.Background(), "db"); err != nil || c.AddLatency != 0 {
			t.Errorf("db after the run: %+v, %v; want add_latency back at 0", c, err)
		}
	}
	for _, tc := range []struct {
		name, tokenLine, env string
		args                 []string
		wantCode             int
		want                 []string // in the one line of stderr
	}{
		{name: "profile file", tokenLine: ", admin_token_file: admin.token"},
		{name: "env", env: token},
		{name: "flag file", args: []string{"--target-admin-token-file", tokenFile}},
		{name: "flag over profile", tokenLine: ", admin_token_file: wrong.token", args: []string{"--target-admin-token-file", tokenFile}},
		{name: "env over profile", tokenLine: ", admin_token_file: wrong.token", env: token},
		{name: "none", wantCode: 2,
			want: []string{"401 Unauthorized", "no admin token was sent", "$LOADGEN_TARGET_ADMIN_TOKEN", "--target-admin-token-file", "target.admin_token_file"}},
		{name: "wrong env", env: "nope", wantCode: 2,
			want: []string{"401 Unauthorized", "the admin token from $LOADGEN_TARGET_ADMIN_TOKEN was refused"}},
		{name: "wrong profile file", tokenLine: ", admin_token_file: wrong.token", wantCode: 2,
			want: []string{"401 Unauthorized", "the admin token from target.admin_token_file " + filepath.Join(dir, "wrong.token") + " was refused"}},
		{name: "missing profile file", tokenLine: ", admin_token_file: gone.token", wantCode: 2,
			want: []string{"p.yaml:1:", "target.admin_token_file: cannot read " + filepath.Join(dir, "gone.token")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(adminTokenEnv, tc.env)
			path := profile(tc.tokenLine)
			args := append([]string{"run", path, "--quiet", "--out", t.TempDir()}, tc.args...)
			_, stderr, code := runCLI(t, args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if tc.wantCode == 0 {
				restored(t)
				return
			}
			line := strings.TrimSpace(stderr)
			t.Log(line)
			if tc.name != "missing profile file" && strings.Contains(line, "\n") {
				t.Errorf("stderr is several lines, want one:\n%s", stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(line, w) {
					t.Errorf("stderr %q does not say %q", line, w)
				}
			}
			if strings.Contains(line, token) {
				t.Errorf("stderr shows the token: %q", line)
			}
		})
	}
}

// loadgen attack --sink --target-admin against a target whose admin API
// wants a token: it points the target at the sink with the token from
// $LOADGEN_TARGET_ADMIN_TOKEN or --target-admin-token-file and puts the old
// URL back; without one it exits 3 in one line naming both sources.
func TestAttackSinkWithAProtectedAdminAPI(t *testing.T) {
	const token = "s3cret-admin"
	api, admin := protectedTarget(t, token)
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "admin.token", token+"\n")
	body := messageBody(t)
	client := &targetadmin.Client{BaseURL: admin, Token: token}
	for _, tc := range []struct {
		name, env string
		args      []string
		wantCode  int
		want      []string
	}{
		{name: "env", env: token},
		{name: "flag file", args: []string{"--target-admin-token-file", tokenFile}},
		{name: "none", wantCode: 3,
			want: []string{"401 Unauthorized", "no admin token was sent", "$LOADGEN_TARGET_ADMIN_TOKEN", "--target-admin-token-file"}},
		{name: "wrong env", env: "nope", wantCode: 3,
			want: []string{"401 Unauthorized", "the admin token from $LOADGEN_TARGET_ADMIN_TOKEN was refused"}},
		{name: "empty file", args: []string{"--target-admin-token-file", writeFile(t, dir, "empty.token", "")}, wantCode: 2,
			want: []string{"--target-admin-token-file", "empty.token is empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(adminTokenEnv, tc.env)
			args := append([]string{"attack", "--url", api + "/api/messages", "--method", "POST",
				"--body-file", body, "--rate", "50", "--duration", "200ms", "--quiet",
				"--sink", "127.0.0.1:0", "--sink-grace", "5s", "--target-admin", admin, "-o", filepath.Join(t.TempDir(), "r.mpk")}, tc.args...)
			_, stderr, code := runCLI(t, args...)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			if tc.wantCode == 0 {
				if !strings.Contains(stderr, "attack: delivery sink on http://127.0.0.1:") {
					t.Errorf("stderr:\n%s", stderr)
				}
			} else {
				line := strings.TrimSpace(stderr)
				t.Log(line)
				if strings.Contains(line, "\n") || strings.Contains(line, token) {
					t.Errorf("stderr is not one line without the token:\n%s", stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(line, w) {
						t.Errorf("stderr %q does not say %q", line, w)
					}
				}
			}
			if prev, err := client.DeliverTo(context.Background(), ""); err != nil || prev != "" {
				t.Errorf("deliver_to after the attack: %q, %v; want it put back to \"\"", prev, err)
			}
		})
	}
}
