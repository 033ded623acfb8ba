package workload

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/e2e"
	"github.com/goodput-dev/goodput/results"
)

// testPKI is e2e.NewPKI's authority and certificates as the tests here
// use them: the CA's and the client's files, the server's certificate
// loaded, and a pool holding the CA.
type testPKI struct {
	caFile, clientCert, clientKey string
	server                        tls.Certificate
	pool                          *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	p := e2e.NewPKI(t, t.TempDir())
	server, err := tls.LoadX509KeyPair(p.ServerCert, p.ServerKey)
	require.NoError(t, err)
	ca, err := os.ReadFile(p.CA)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(ca), "the CA's PEM")
	return testPKI{caFile: p.CA, clientCert: p.ClientCert, clientKey: p.ClientKey, server: server, pool: pool}
}

// tlsServer serves ok over TLS with the PKI's server certificate, asking
// for a client certificate when mutual is set.
func (p testPKI) tlsServer(t *testing.T, mutual bool) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if mutual {
		srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, p.pool
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLSFilesVerifyAPrivateCAAndPresentAClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	for _, tt := range []struct {
		name   string
		mutual bool
		files  TLSFiles
		http2  bool
		want   results.Outcome
	}{
		{"system roots refuse a private CA", false, TLSFiles{}, false, results.OutcomeConnError},
		{"--cacert", false, TLSFiles{CAFile: pki.caFile}, false, results.OutcomeOK},
		{"--cacert over HTTP/2", false, TLSFiles{CAFile: pki.caFile}, true, results.OutcomeOK},
		{"--server-name", false, TLSFiles{CAFile: pki.caFile, ServerName: "svc.test"}, false, results.OutcomeOK},
		{"--server-name that the certificate lacks", false, TLSFiles{CAFile: pki.caFile, ServerName: "other.test"}, false, results.OutcomeConnError},
		{"mutual TLS without a client certificate", true, TLSFiles{CAFile: pki.caFile}, false, results.OutcomeConnError},
		{"mutual TLS", true, TLSFiles{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}, false, results.OutcomeOK},
		{"mutual TLS over HTTP/2", true, TLSFiles{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}, true, results.OutcomeOK},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := pki.tlsServer(t, tt.mutual)
			if tt.http2 {
				srv.Close()
				srv = httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
				srv.EnableHTTP2 = true
				srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
				if tt.mutual {
					srv.TLS.ClientAuth, srv.TLS.ClientCAs = tls.RequireAndVerifyClientCert, pki.pool
				}
				srv.StartTLS()
				t.Cleanup(srv.Close)
			}
			conf, err := tt.files.Config()
			require.NoError(t, err)
			cfg := constantConfig(srv.URL, 20, 150*time.Millisecond)
			cfg.HTTP = ClientOptions{TLS: conf, HTTP2: tt.http2}
			tl := count(t, runOnce(t, cfg))
			assert.Equal(t, tl.requests, tl.finals[tt.want], "finals %v", tl.finals)
		})
	}
}

func TestTLSFilesRefuseWhatTheyCannotLoad(t *testing.T) {
	pki := newTestPKI(t)
	for _, tt := range []struct {
		files TLSFiles
		want  string
	}{
		{TLSFiles{CAFile: filepath.Join(t.TempDir(), "none.pem")}, "CA file"},
		{TLSFiles{CAFile: pki.clientKey}, "no PEM certificate"},
		{TLSFiles{CertFile: pki.clientCert}, "both its certificate and its key"},
		{TLSFiles{CertFile: pki.clientCert, KeyFile: pki.caFile}, "client certificate"},
	} {
		_, err := tt.files.Config()
		if assert.Error(t, err) {
			assert.Contains(t, err.Error(), tt.want)
		}
	}
}

// The preflight says when a server asked for a client certificate that the
// run has none of: a server that requires one (nginx's ssl_verify_client
// on) may complete the handshake and then answer every request 400.
func TestPreflightSaysWhenTheServerAsksForAClientCertificate(t *testing.T) {
	pki := newTestPKI(t)
	withCert := TLSFiles{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}
	for _, tt := range []struct {
		name      string
		auth      tls.ClientAuthType
		maxTLS    uint16
		files     TLSFiles
		requested bool
		fails     bool
	}{
		{"no certificate asked for", tls.NoClientCert, 0, TLSFiles{CAFile: pki.caFile}, false, false},
		{"asked for, none given", tls.RequestClientCert, 0, TLSFiles{CAFile: pki.caFile}, true, false},
		{"asked for and given", tls.RequestClientCert, 0, withCert, false, false},
		{"required, none given, TLS 1.2: the handshake fails", tls.RequireAndVerifyClientCert, tls.VersionTLS12, TLSFiles{CAFile: pki.caFile}, true, true},
		{"required and given", tls.RequireAndVerifyClientCert, 0, withCert, false, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12, MaxVersion: tt.maxTLS,
				ClientAuth: tt.auth, ClientCAs: pki.pool}
			srv.StartTLS()
			t.Cleanup(srv.Close)
			conf, err := tt.files.Config()
			require.NoError(t, err)
			rep, err := Preflight(t.Context(), srv.URL+"/", 5*time.Second, conf)
			assert.Equal(t, tt.requested, rep.ClientCertRequested)
			if tt.fails {
				assert.Error(t, err)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

// Every request says it comes from loadgen, once, over HTTP/1.1 and
// HTTP/2 alike, unless its template sets a User-Agent of its own.
func TestRequestsCarryOneUserAgent(t *testing.T) {
	pki := newTestPKI(t)
	for _, tt := range []struct {
		name   string
		http2  bool
		header map[string][]string
		want   string
	}{
		{"HTTP/1.1", false, nil, UserAgent},
		{"HTTP/2", true, nil, UserAgent},
		{"HTTP/1.1, the template's own", false, map[string][]string{"user-agent": {"shop-app/3.1"}}, "shop-app/3.1"},
		{"HTTP/2, the template's own", true, map[string][]string{"User-Agent": {"shop-app/3.1"}}, "shop-app/3.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := map[string]int{}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				mu.Lock()
				seen[strings.Join(r.Header.Values("User-Agent"), " | ")]++
				mu.Unlock()
			}))
			srv.EnableHTTP2 = tt.http2
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
			srv.StartTLS()
			t.Cleanup(srv.Close)
			conf, err := TLSFiles{CAFile: pki.caFile}.Config()
			require.NoError(t, err)
			cfg := constantConfig(srv.URL, 20, 150*time.Millisecond)
			cfg.Mix[0].Header = tt.header
			cfg.HTTP = ClientOptions{TLS: conf, HTTP2: tt.http2}
			tl := count(t, runOnce(t, cfg))
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, map[string]int{tt.want: int(tl.requests)}, seen)
		})
	}
}
