package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/faults"
)

// benchProxy is a proxy (never served) with the given faults in place.
func benchProxy(b *testing.B, specs ...faults.Spec) *Proxy {
	b.Helper()
	p, err := New(Config{Upstream: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range specs {
		if err := p.Add(s); err != nil {
			b.Fatal(err)
		}
	}
	return p
}

// BenchmarkChoose measures the per-request fault decision: scope matching
// and the probability draw for every fault in place.
func BenchmarkChoose(b *testing.B) {
	third := 0.3
	for _, bc := range []struct {
		name  string
		specs []faults.Spec
	}{
		{"none", nil},
		{"four", []faults.Spec{
			{Name: "search", Kind: "delay", Delay: dist.Duration(1), Route: "/api/search"},              // route does not match
			{Name: "hot", Kind: "abort", Status: 429, Header: "X-Tenant: hot"},                          // header does not match
			{Name: "flaky", Kind: "abort", Status: 503, Probability: &third},                            // a draw
			{Name: "items", Kind: "delay", Delay: dist.Duration(1), Route: "/api/items", Method: "GET"}, // matches
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := benchProxy(b, bc.specs...)
			req := httptest.NewRequest("GET", "/api/items/42", nil)
			req.Header.Set("X-Tenant", "cold")
			var buf [4]*rule
			chosen := 0
			b.ReportAllocs()
			for b.Loop() {
				chosen += len(p.choose(req, buf[:0]))
			}
			if bc.specs != nil && chosen == 0 {
				b.Fatal("nothing chosen")
			}
		})
	}
}

// BenchmarkChooseParallel is the decision under concurrent requests (the
// seeded source is shared behind a mutex).
func BenchmarkChooseParallel(b *testing.B) {
	third := 0.3
	p := benchProxy(b, faults.Spec{Name: "flaky", Kind: "abort", Status: 503, Probability: &third})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "/api/items/42", nil)
		var buf [4]*rule
		for pb.Next() {
			_ = p.choose(req, buf[:0])
		}
	})
}

// fixedTransport answers every request with 200 "ok" in memory, so the
// benchmark below measures the proxy, not a network.
type fixedTransport struct{}

func (fixedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Length": {"2"}}, ContentLength: 2,
		Body: io.NopCloser(strings.NewReader("ok")), Request: r,
	}, nil
}

// BenchmarkServeHTTP is one exchange through the proxy: straight through
// (no fault in place), and answered by an abort fault.
func BenchmarkServeHTTP(b *testing.B) {
	for _, bc := range []struct {
		name  string
		specs []faults.Spec
		want  int
	}{
		{"passthrough", nil, http.StatusOK},
		{"abort", []faults.Spec{{Name: "down", Kind: "abort", Status: 503}}, http.StatusServiceUnavailable},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p, err := New(Config{Upstream: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, Transport: fixedTransport{}})
			if err != nil {
				b.Fatal(err)
			}
			for _, s := range bc.specs {
				if err := p.Add(s); err != nil {
					b.Fatal(err)
				}
			}
			req := httptest.NewRequest("GET", "/api/items/1", nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				p.ServeHTTP(w, req)
				if w.Code != bc.want {
					b.Fatalf("status %d, want %d", w.Code, bc.want)
				}
			}
		})
	}
}
