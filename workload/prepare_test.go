package workload

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// connCounter is a test server that notes when each connection was
// accepted (and, for https, finished its handshake) and when each
// request arrived, on which connection.
type connCounter struct {
	mu       sync.Mutex
	ready    map[string]time.Time // by remote address: accepted, or handshaken
	arrivals []arrival
}

type arrival struct {
	at     time.Time
	remote string
}

func (c *connCounter) noteConn(remote string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ready[remote]; !ok {
		c.ready[remote] = time.Now()
	}
}

func (c *connCounter) start(t *testing.T, tlsOn bool) *httptest.Server {
	c.ready = map[string]time.Time{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.arrivals = append(c.arrivals, arrival{time.Now(), r.RemoteAddr})
		c.mu.Unlock()
	}))
	if tlsOn {
		// A connection is ready when its handshake is done.
		srv.TLS = &tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
			conf := srv.TLS.Clone()
			conf.GetConfigForClient = nil
			conf.VerifyConnection = func(tls.ConnectionState) error {
				c.noteConn(hi.Conn.RemoteAddr().String())
				return nil
			}
			return conf, nil
		}}
		srv.StartTLS()
	} else {
		srv.Config.ConnState = func(conn net.Conn, s http.ConnState) {
			if s == http.StateNew {
				c.noteConn(conn.RemoteAddr().String())
			}
		}
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// TestRunnerOpensConnectionsBeforeItsStart: the first phase's connections
// (TLS handshakes included) exist before the first request arrives, no
// request arrives before the start instant, and the first requests of
// the run do not dial more often than later ones.
func TestRunnerOpensConnectionsBeforeItsStart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tls   bool
		start time.Duration // ahead of now; 0: Config.Start zero
	}{
		{"http, start ahead", false, 300 * time.Millisecond},
		{"http, start now", false, 0},
		{"https, start ahead", true, 300 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cc connCounter
			srv := cc.start(t, tc.tls)
			const rps = 400 // readyFor: 4 connections (minReady)
			cfg := constantConfig(srv.URL+"/x", rps, time.Second)
			if tc.tls {
				cfg.HTTP.TLS = &tls.Config{InsecureSkipVerify: true}
			}
			if tc.start > 0 {
				cfg.Start = time.Now().Add(tc.start)
			}
			r := newRunner(t, cfg)
			start := r.Prepare(context.Background())
			if tc.start > 0 && start != cfg.Start {
				t.Fatalf("Prepare moved a set start from %v to %v", cfg.Start, start)
			}
			var sink memSink
			if err := r.Run(context.Background(), &sink); err != nil {
				t.Fatal(err)
			}
			if got := count(t, sink.results()); got.finals[results.OutcomeOK] != rps {
				t.Fatalf("%d ok of %d: %+v", got.finals[results.OutcomeOK], rps, got)
			}

			cc.mu.Lock()
			defer cc.mu.Unlock()
			slices.SortFunc(cc.arrivals, func(a, b arrival) int { return a.at.Compare(b.at) })
			first := cc.arrivals[0].at
			if first.Before(start) {
				t.Errorf("a request arrived %v before the start instant", start.Sub(first))
			}
			before := 0
			for _, at := range cc.ready {
				if at.Before(first) {
					before++
				}
			}
			if before < minReady {
				t.Errorf("%d connections ready before the first request, want ≥ %d", before, minReady)
			}
			// A request "dialed" when its connection became ready after
			// the start instant.
			dialed := func(as []arrival) float64 {
				n := 0
				for _, a := range as {
					if cc.ready[a.remote].After(start) {
						n++
					}
				}
				return float64(n) / float64(len(as))
			}
			early, later := dialed(cc.arrivals[:rps/10]), dialed(cc.arrivals[rps/10:])
			// Generous: on a loaded machine later requests dial too.
			if early > later+0.25 {
				t.Errorf("%.0f%% of the first %d requests came on connections opened after the start, against %.0f%% of the later ones",
					100*early, rps/10, 100*later)
			}
		})
	}
}

// TestConnPoolWarmOpensUpToItsBoundAndStopsAtAFailure: warm leaves n
// connections idle (no more than the pool's bound, and no more when some
// are open already), and a target that refuses connections ends it at the
// first failed dial instead of dialing on.
func TestConnPoolWarmOpensUpToItsBoundAndStopsAtAFailure(t *testing.T) {
	p := newConnPool(loopbackSink(t), false, ClientOptions{Connections: 40, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	for _, tc := range []struct{ n, want int }{{30, 30}, {10, 30}, {100, 40}} {
		got, err := p.warm(context.Background(), tc.n)
		if err != nil || got != tc.want || len(p.idle) != tc.want || p.dialing != 0 {
			t.Errorf("warm(%d) = %d, %v with %d idle, %d dialing; want %d idle", tc.n, got, err, len(p.idle), p.dialing, tc.want)
		}
	}

	refused := newConnPool("127.0.0.1:1", false, ClientOptions{Connections: 100, DialTimeout: time.Second})
	var dials atomic.Int64
	dial := refused.dial
	refused.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return dial(ctx, network, addr)
	}
	got, err := refused.warm(context.Background(), 100)
	if err == nil || got != 0 || refused.open != 0 {
		t.Errorf("warm against a refusing port = %d, %v with %d open; want 0 and an error", got, err, refused.open)
	}
	if n := dials.Load(); n > maxDials {
		t.Errorf("%d dials against a refusing port, want at most the %d in flight when the first failed", n, maxDials)
	}
}
