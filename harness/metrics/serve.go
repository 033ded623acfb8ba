package metrics

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/goodput-dev/goodput/internal/serve"
)

// Handler serves the registry's series on GET /metrics, as text or as
// protobuf (which carries the native histograms), uncompressed: gzip
// would take the generator's CPU, which its schedule needs, to save a few
// kilobytes of a loopback scrape (under the race detector it took over
// 1 s, timing out scrapes of a busy run). With a token, every request must
// carry "Authorization: Bearer <token>" (compared in constant time);
// others get 401.
func (g *Registry) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g.reg, promhttp.HandlerOpts{DisableCompression: true}))
	if token == "" {
		return mux
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="goodput loadgen metrics"`)
			http.Error(w, "metrics need Authorization: Bearer <metrics token>", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// shutdownGrace bounds the wait for scrapes in flight when Serve stops.
const shutdownGrace = 2 * time.Second

// Serve serves Handler(token) on ln until ctx ends, then shuts the server
// down (waiting up to 2 s for scrapes in flight) and returns; it closes
// ln. It returns nil when ctx ended it, else why the server stopped.
func (g *Registry) Serve(ctx context.Context, ln net.Listener, token string) error {
	srv := &http.Server{Handler: g.Handler(token), ReadHeaderTimeout: 10 * time.Second}
	if err := serve.Run(ctx, shutdownGrace, nil, serve.Server{Server: srv, Listener: ln}); err != nil {
		return fmt.Errorf("metrics: %w", err)
	}
	return nil
}
