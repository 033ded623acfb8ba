package proxy

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/faults"
)

// running is a Proxy serving on loopback in front of an httptest upstream.
type running struct {
	p       *Proxy
	data    string // base URL of the proxied traffic
	control *faults.ProxyClient
	client  *http.Client // keep-alive client for the data path
}

// start runs a proxy in front of upstream until the test ends.
func start(t *testing.T, upstream http.Handler, token string) *running {
	t.Helper()
	up := httptest.NewServer(upstream)
	u, err := url.Parse(up.URL)
	require.NoError(t, err)
	p, err := New(Config{Upstream: u, Token: token, Seed: 42, DrainTimeout: 2 * time.Second})
	require.NoError(t, err)
	data, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	control, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Serve(ctx, data, control) }()
	r := &running{
		p:       p,
		data:    "http://" + data.Addr().String(),
		control: &faults.ProxyClient{BaseURL: "http://" + control.Addr().String(), Token: token, HTTP: &http.Client{Transport: &http.Transport{}}},
		client:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
	}
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done)
		r.client.CloseIdleConnections()
		r.control.HTTP.CloseIdleConnections()
		up.Close()
	})
	return r
}

// ok is an upstream that answers 200 "ok".
var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
