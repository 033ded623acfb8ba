package main

import (
	"crypto/tls"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/internal/e2e"
)

// hostURL returns srv's URL with scheme instead of its own.
func hostURL(srv *httptest.Server, scheme string) string {
	return scheme + "://" + srv.Listener.Addr().String() + "/"
}

func TestPreflightHTTPSToAPlainServerExits3NamingTLS(t *testing.T) {
	srv := okServer(t)
	began := time.Now()
	_, stderr, code := runCLI(t, "attack", "--url", hostURL(srv, "https"), "--rate", "50", "--duration", "2s", "--quiet")
	assert.Less(t, time.Since(began), 5*time.Second)
	assert.Equal(t, cli.ExitRun, code, stderr)
	assert.Contains(t, stderr, "TLS", stderr)
	assert.Contains(t, stderr, srv.Listener.Addr().String())
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)
}

func TestPreflightTLSServerNeedsItsCertificate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	t.Cleanup(srv.Close)
	_, stderr, code := runCLI(t, "attack", "--url", srv.URL+"/", "--rate", "50", "--duration", "1s", "--quiet")
	assert.Equal(t, cli.ExitRun, code, stderr)
	assert.Contains(t, stderr, "certificate")

	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600))
	out := filepath.Join(t.TempDir(), "r.mpk")
	_, stderr, code = runCLI(t, "attack", "--url", srv.URL+"/", "--cacert", ca, "--rate", "50", "--duration", "400ms", "--quiet", "-o", out)
	require.Equal(t, 0, code, stderr)
	_, rs, _ := readResultsAt(t, out)
	require.Len(t, rs, 20)
	for _, r := range rs {
		assert.Equal(t, 200, int(r.Status))
		assert.Empty(t, r.Error)
	}
}

// A target that accepts connections and closes them unanswered passes the
// preflight; the run then ends with exit 3 naming the error, and its
// results, with the error text, are still written and reported.
func TestAttackWithoutAnyAnswerExits3NamingTheMostFrequentError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	out := filepath.Join(t.TempDir(), "r.mpk")
	_, stderr, code := runCLI(t, "attack", "--url", "http://"+ln.Addr().String()+"/", "--rate", "50", "--duration", "400ms", "--quiet", "-o", out)
	assert.Equal(t, cli.ExitRun, code, stderr)
	assert.Contains(t, stderr, "none of the 20 attempts got an HTTP answer", stderr)
	_, rs, _ := readResultsAt(t, out)
	require.Len(t, rs, 20)
	counts := map[string]int{}
	for _, r := range rs {
		require.NotEmpty(t, r.Error, "record %+v", r)
		assert.NotContains(t, r.Error, "127.0.0.1")
		counts[r.Error]++
	}
	top := ""
	for msg, n := range counts {
		if n > counts[top] || n == counts[top] && msg < top {
			top = msg
		}
	}
	assert.Contains(t, stderr, top)

	m := reportJSON(t, out)
	errs, ok := m["errors"].([]any)
	require.True(t, ok, "errors in %v", m)
	first := errs[0].(map[string]any)
	assert.Equal(t, top, first["error"])
	assert.Equal(t, "conn_error", first["outcome"])
	assert.Equal(t, float64(counts[top]), first["count"])
	text, _, code := runCLI(t, "report", out)
	require.Equal(t, 0, code)
	assert.Contains(t, text, top)
}

// A service that asks for a client certificate the run has none of: when
// its handshake fails, the one line says so and names --cert and --key;
// when it completes (the service may only accept one), the run goes on
// after a warning that says the same.
func TestPreflightNamesTheClientCertificateAServiceAsksFor(t *testing.T) {
	pki := e2e.NewPKI(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	require.NoError(t, err)
	serve := func(auth tls.ClientAuthType, maxTLS uint16) *httptest.Server {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: auth, MinVersion: tls.VersionTLS12, MaxVersion: maxTLS}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}

	required := serve(tls.RequireAnyClientCert, tls.VersionTLS12)
	_, stderr, code := runCLI(t, "attack", "--url", required.URL+"/", "--cacert", pki.CA, "--rate", "50", "--duration", "1s", "--quiet")
	assert.Equal(t, cli.ExitRun, code, stderr)
	assert.Contains(t, stderr, "asked for a client certificate and none was given: --cert and --key", stderr)
	assert.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line: %q", stderr)

	optional := serve(tls.RequestClientCert, 0)
	_, stderr, code = runCLI(t, "attack", "--url", optional.URL+"/", "--cacert", pki.CA, "--rate", "50", "--duration", "200ms", "--quiet")
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "attack: warning: "+optional.URL+" asked for a client certificate and none was given (--cert and --key)")

	_, stderr, code = runCLI(t, "attack", "--url", optional.URL+"/", "--cacert", pki.CA, "--cert", pki.ClientCert, "--key", pki.ClientKey,
		"--rate", "50", "--duration", "200ms", "--quiet")
	assert.Equal(t, 0, code, stderr)
	assert.NotContains(t, stderr, "client certificate")
}

// loadgen run warns as attack does when the profile's target asks for a
// client certificate that client.tls does not give.
func TestRunWarnsWhenTheTargetAsksForAClientCertificate(t *testing.T) {
	pki := e2e.NewPKI(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequestClientCert, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	profile := filepath.Join(dir, "mtls.yaml")
	require.NoError(t, os.WriteFile(profile, []byte("target: {url: \""+srv.URL+"\"}\nclient: {tls: {ca_file: \""+pki.CA+"\"}}\n"+
		"requests: [{name: a, path: /}]\nphases: [{name: p, duration: 200ms, rate: 20}]\nreport: {formats: [json]}\n"), 0o600))
	_, stderr, code := runCLI(t, "run", profile, "--out", filepath.Join(dir, "out"))
	assert.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "the target asked for a client certificate and none was given (client.tls.cert_file and key_file)", stderr)
}
