package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/results"
)

// The tests in this file drive a real nginx (Debian's nginx-light), a
// service nobody here wrote, with the loadgen binary: TLS with a private
// CA, mutual TLS, HTTP/2, and a vegeta targets file whose per-route
// results must match nginx's own access log.

// nginxTLS returns the server block of an HTTPS nginx with pki's server
// certificate on @PORT@: listen's parameters after ssl (e.g. "http2"),
// then further directives and locations.
func nginxTLS(pki e2e.PKI, listen, body string) string {
	return fmt.Sprintf(`server {
	listen 127.0.0.1:@PORT@ ssl %s;
	ssl_certificate %s;
	ssl_certificate_key %s;
	%s
}
`, listen, pki.ServerCert, pki.ServerKey, body)
}

// okLocation answers every path 200 "ok".
const okLocation = `location / { return 200 "ok\n"; }`

// oneLine asserts that s is one line of text.
func oneLine(t *testing.T, s string) {
	t.Helper()
	assert.Equal(t, 1, strings.Count(strings.TrimRight(s, "\n"), "\n")+1, "one line: %q", s)
}

// An HTTPS service whose certificate a private CA signed: without --cacert
// the run stops before its schedule with exit 3 and one line naming the
// certificate problem; with it every request is answered 200, and nginx
// logged each one.
func TestNginxPrivateCA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	pki := e2e.NewPKI(t, t.TempDir())
	ng := e2e.StartNginx(t, nginxTLS(pki, "", okLocation))
	url := fmt.Sprintf("https://127.0.0.1:%d/", ng.Port)

	res := runLoadgen(t, "attack", "--url", url, "--rate", "50", "--duration", "5s", "--quiet")
	assert.Equal(t, cli.ExitRun, res.code, res.stderr)
	assert.Less(t, res.elapsed, 5*time.Second, "before the 5 s schedule")
	assert.Contains(t, res.stderr, "x509: certificate signed by unknown authority")
	assert.Contains(t, res.stderr, "127.0.0.1:"+strconv.Itoa(ng.Port))
	oneLine(t, res.stderr)

	out := filepath.Join(t.TempDir(), "r.mpk")
	res = runLoadgen(t, "attack", "--url", url, "--cacert", pki.CA, "--rate", "100", "--duration", "1s", "--quiet", "-o", out)
	require.Equal(t, 0, res.code, res.stderr)
	s := summaryOf(t, out)
	assert.EqualValues(t, 100, s.Requests)
	assert.Equal(t, map[string]int64{"ok": 100}, nonZero(s.Outcomes))

	seen := ng.Requests(t)
	require.Len(t, seen, 100, "nginx's access log")
	for _, r := range seen {
		assert.Equal(t, nginxLine{"GET", "/", "HTTP/1.1", 200}, lineOf(r))
	}
}

// nginxLine is the part of an access log line most tests compare.
type nginxLine struct {
	Method, URI, Protocol string
	Status                int
}

func lineOf(r e2e.NginxRequest) nginxLine {
	return nginxLine{r.Method, r.URI, r.Protocol, r.Status}
}

// https:// against nginx serving plain HTTP: exit 3 within 5 s, in one
// line naming TLS.
func TestNginxPlainHTTPWithAnHTTPSURL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	ng := e2e.StartNginx(t, "server {\n\tlisten 127.0.0.1:@PORT@;\n\t"+okLocation+"\n}\n")
	res := runLoadgen(t, "attack", "--url", fmt.Sprintf("https://127.0.0.1:%d/", ng.Port), "--rate", "50", "--duration", "5s", "--quiet")
	assert.Equal(t, cli.ExitRun, res.code, res.stderr)
	assert.Less(t, res.elapsed, 5*time.Second)
	assert.Contains(t, res.stderr, "TLS")
	oneLine(t, res.stderr)
	// The preflight's ClientHello is all nginx got: it logs that as a bad
	// request, without a method.
	for _, r := range ng.Requests(t) {
		assert.Equal(t, nginxLine{"", "", "", 400}, lineOf(r), "no HTTP request reached nginx")
	}
}

// Mutual TLS: nginx requires a client certificate its CA signed. Without
// --cert/--key the handshake completes (nginx refuses at the HTTP level),
// so the run warns before it starts, naming the flags, and then records
// nginx's 400 for every request; with them every request is served to a
// verified client.
func TestNginxMutualTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	pki := e2e.NewPKI(t, t.TempDir())
	ng := e2e.StartNginx(t, nginxTLS(pki, "", fmt.Sprintf("ssl_client_certificate %s;\n\tssl_verify_client on;\n\t%s", pki.CA, okLocation)))
	url := fmt.Sprintf("https://127.0.0.1:%d/", ng.Port)

	dir := t.TempDir()
	without, with := filepath.Join(dir, "without.mpk"), filepath.Join(dir, "with.mpk")
	res := runLoadgen(t, "attack", "--url", url, "--cacert", pki.CA, "--rate", "100", "--duration", "500ms", "--quiet", "-o", without)
	require.Equal(t, 0, res.code, "nginx answered: %s", res.stderr)
	assert.Contains(t, res.stderr, "attack: warning: "+strings.TrimSuffix(url, "/")+" asked for a client certificate and none was given (--cert and --key)")
	s := summaryOf(t, without)
	assert.Equal(t, map[string]int64{"client_error": 50}, nonZero(s.Outcomes))

	res = runLoadgen(t, "attack", "--url", url, "--cacert", pki.CA, "--cert", pki.ClientCert, "--key", pki.ClientKey,
		"--rate", "100", "--duration", "1s", "--quiet", "-o", with)
	require.Equal(t, 0, res.code, res.stderr)
	assert.NotContains(t, res.stderr, "warning")
	s = summaryOf(t, with)
	assert.Equal(t, map[string]int64{"ok": 100}, nonZero(s.Outcomes))

	verified := map[string]int{}
	for _, r := range ng.Requests(t) {
		verified[fmt.Sprintf("%s %d", r.ClientVerify, r.Status)]++
	}
	assert.Equal(t, map[string]int{"NONE 400": 50, "SUCCESS 200": 100}, verified, "nginx's $ssl_client_verify and $status")
}

// HTTP/2 over TLS: with --http2 every request nginx logged came over
// HTTP/2.
func TestNginxHTTP2(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	pki := e2e.NewPKI(t, t.TempDir())
	ng := e2e.StartNginx(t, nginxTLS(pki, "http2", okLocation))
	out := filepath.Join(t.TempDir(), "r.mpk")
	res := runLoadgen(t, "attack", "--url", fmt.Sprintf("https://127.0.0.1:%d/h2", ng.Port), "--cacert", pki.CA, "--http2",
		"--rate", "100", "--duration", "1s", "--quiet", "-o", out)
	require.Equal(t, 0, res.code, res.stderr)
	s := summaryOf(t, out)
	assert.Equal(t, map[string]int64{"ok": 100}, nonZero(s.Outcomes))
	seen := ng.Requests(t)
	require.Len(t, seen, 100, "nginx's access log")
	for _, r := range seen {
		assert.Equal(t, nginxLine{"GET", "/h2", "HTTP/2.0", 200}, lineOf(r))
	}
}

// A vegeta targets file of three routes, one a POST with a body from a
// file and a header, played round-robin against nginx over HTTPS: the
// report's by_route counts are what nginx's access log shows per route,
// and nginx saw each method, the body and the header as written.
func TestNginxTargetsFileThreeRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real processes")
	}
	pki := e2e.NewPKI(t, t.TempDir())
	// nginx fills $request_body only when it reads the body: /b proxies
	// to a second server on a unix socket, which answers 201.
	ng := e2e.StartNginx(t, nginxTLS(pki, "", `location = /a { return 200 "a\n"; }
	location = /b { proxy_pass http://unix:@DIR@/inner.sock:/inner; }
	location = /c { return 204; }`)+`server {
	listen unix:@DIR@/inner.sock;
	access_log off;
	location / { return 201 "created\n"; }
}
`)
	dir := t.TempDir()
	body := "{\"id\": 7, \"note\": \"café \\\"quoted\\\"\"}\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "body.json"), []byte(body), 0o600))
	base := fmt.Sprintf("https://127.0.0.1:%d", ng.Port)
	targets := fmt.Sprintf("GET %[1]s/a\n\nPOST %[1]s/b?v=1\nContent-Type: application/json\nX-Test: yes\n@body.json\n\nGET %[1]s/c\n", base)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "targets.txt"), []byte(targets), 0o600))

	res := runLoadgenIn(t, dir, "attack", "--targets", "targets.txt", "--cacert", pki.CA,
		"--rate", "150", "--duration", "2s", "--seed", "9", "--quiet", "-o", "r.mpk")
	require.Equal(t, 0, res.code, res.stderr)
	res = runLoadgen(t, "report", "--format", "json", filepath.Join(dir, "r.mpk"))
	require.Equal(t, 0, res.code, res.stderr)
	var s struct {
		Requests int64 `json:"requests"`
		ByRoute  map[string]struct {
			Requests    int64            `json:"requests"`
			Attempts    int64            `json:"attempts"`
			Outcomes    map[string]int64 `json:"outcomes"`
			StatusCodes map[string]int64 `json:"status_codes"`
		} `json:"by_route"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.stdout), &s), res.stdout)
	require.EqualValues(t, 300, s.Requests)
	_, rs, _ := readResultsAt(t, filepath.Join(dir, "r.mpk"))
	slices.SortFunc(rs, func(a, b results.Result) int { return cmp.Compare(a.Intended, b.Intended) })
	order := []string{"GET /a", "POST /b", "GET /c"}
	for i, r := range rs {
		require.Equal(t, order[i%3], r.Route, "request %d of the schedule: round-robin in file order", i)
	}

	// What nginx served, per route as loadgen names them.
	type tally struct {
		requests int64
		status   map[string]int64
	}
	served := map[string]*tally{}
	for _, r := range ng.Requests(t) {
		route := r.Method + " " + r.URI
		if served[route] == nil {
			served[route] = &tally{status: map[string]int64{}}
		}
		served[route].requests++
		served[route].status[strconv.Itoa(r.Status)]++
		assert.Equal(t, "HTTP/1.1", r.Protocol)
		if route == "POST /b" {
			assert.Equal(t, body, r.Body, "the body as written")
			assert.Equal(t, "yes", r.XTest, "the header of the POST target")
		} else {
			assert.Empty(t, r.Body, "%s has no body", route)
			assert.Empty(t, r.XTest, "%s has no X-Test header", route)
		}
	}
	require.Len(t, served, 3, "nginx saw three routes: %v", served)
	require.Len(t, s.ByRoute, 3, "three routes in by_route")
	for route, status := range map[string]string{"GET /a": "200", "POST /b": "201", "GET /c": "204"} {
		got, ok := s.ByRoute[route]
		require.True(t, ok, "%s in by_route %v", route, s.ByRoute)
		require.NotNil(t, served[route], "nginx served %s", route)
		assert.EqualValues(t, 100, got.Requests, "%s: round-robin, a third each", route)
		assert.Equal(t, got.Attempts, served[route].requests, "%s: attempts = what nginx served", route)
		assert.Equal(t, map[string]int64{status: 100}, got.StatusCodes, route)
		assert.Equal(t, got.StatusCodes, served[route].status, "%s: status codes as nginx logged them", route)
		assert.Equal(t, map[string]int64{"ok": 100}, nonZero(got.Outcomes), route)
	}
}
