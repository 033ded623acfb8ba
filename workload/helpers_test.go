package workload

import (
	"context"
	"strconv"

	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/goodput-dev/goodput/results"
)

// memSink keeps every record; safe for concurrent use.
type memSink struct {
	mu     sync.Mutex
	res    []results.Result
	events []results.Event
}

func (s *memSink) Record(r *results.Result) {
	s.mu.Lock()
	s.res = append(s.res, *r)
	s.mu.Unlock()
}

func (s *memSink) Event(e *results.Event) {
	s.mu.Lock()
	s.events = append(s.events, *e)
	s.mu.Unlock()
}

func (s *memSink) results() []results.Result {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]results.Result(nil), s.res...)
}

// tally counts requests (final records), attempts (Attempt ≥ 1) and final
// outcomes, and checks that each request has exactly one final record.
type tally struct {
	requests, attempts int
	finals             map[results.Outcome]int
}

func count(t *testing.T, rs []results.Result) tally {
	t.Helper()
	tl := tally{finals: map[results.Outcome]int{}}
	final := map[uint64]int{}
	seen := map[uint64]bool{}
	for _, r := range rs {
		seen[r.RequestID] = true
		if r.Attempt > 0 {
			tl.attempts++
		}
		if r.Final {
			tl.requests++
			final[r.RequestID]++
			tl.finals[r.Outcome]++
		}
	}
	for id := range seen {
		if final[id] != 1 {
			t.Fatalf("request %d has %d final records, want 1", id, final[id])
		}
	}
	return tl
}

// pipeClient is an HTTP client whose connections are in-memory pipes to
// handler, served by a real http.Server: real HTTP that runs inside a
// testing/synctest bubble. Close it before the bubble ends.
type pipeClient struct {
	*http.Client
	srv *http.Server
	ln  *pipeListener
	wg  sync.WaitGroup
}

// runInBackground starts a run of cfg with sink on a goroutine of its own,
// and returns its runner, the channel that receives Run's error, and the
// run's cancel, which the caller defers: a failed check then ends the
// run, and so a synctest bubble.
func runInBackground(t *testing.T, cfg Config, sink Recorder) (*Runner, <-chan error, context.CancelFunc) {
	r := newRunner(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, sink) }()
	return r, done, cancel
}

// newBurstClient returns a pipe client to a service that calls hold for
// each request of a burst (Runner.Burst) before it answers, and answers
// the others at once.
func newBurstClient(hold func(*http.Request)) *pipeClient {
	return newPipeClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, _ := strconv.ParseUint(r.Header.Get("X-Request-Id"), 10, 64); id&burstBit != 0 {
			hold(r)
		}
	}))
}

// newHeldClient returns a pipe client to a service that answers each
// request once release closes (or the request ends).
func newHeldClient(release <-chan struct{}) *pipeClient {
	return newPipeClient(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
}

func newPipeClient(h http.Handler) *pipeClient {
	ln := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	pc := &pipeClient{srv: &http.Server{Handler: h}, ln: ln}
	pc.Client = &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			c, s := net.Pipe()
			select {
			case ln.conns <- s:
				return c, nil
			case <-ln.done:
				return nil, net.ErrClosed
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		MaxConnsPerHost: 1000,
	}}
	pc.wg.Go(func() { _ = pc.srv.Serve(ln) })
	return pc
}

func (pc *pipeClient) Close() {
	pc.Client.CloseIdleConnections()
	_ = pc.srv.Close()
	pc.wg.Wait()
}

type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }
