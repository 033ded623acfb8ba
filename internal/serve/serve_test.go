package serve

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// TestRunDrainsThenCutsOff: a request in flight when the context ends
// finishes within the drain; one that outlasts it is cut off, and Run says
// so.
func TestRunDrainsThenCutsOff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		handler   time.Duration // how long the request in flight still runs
		drain     time.Duration
		wantDrain bool
	}{
		{"finishes within the drain", 0, 10 * time.Second, false},
		{"outlasts the drain", time.Minute, 50 * time.Millisecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			started := make(chan struct{})
			release := make(chan struct{})
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				select {
				case <-release:
				case <-time.After(tc.handler):
				case <-r.Context().Done():
				}
				_, _ = io.WriteString(w, "done")
			})
			ln := listen(t)
			ctx, cancel := context.WithCancel(context.Background())
			stopped := false
			done := make(chan error, 1)
			go func() {
				done <- Run(ctx, tc.drain, func() { stopped = true }, Server{&http.Server{Handler: h}, ln})
			}()
			got := make(chan error, 1)
			go func() {
				resp, err := http.Get("http://" + ln.Addr().String())
				if err == nil {
					resp.Body.Close()
				}
				got <- err
			}()
			<-started
			cancel()
			if tc.handler == 0 {
				close(release)
			}
			err := <-done
			if !stopped {
				t.Error("stopping was not called")
			}
			if isDrain := errors.Is(err, ErrCutOff) && strings.Contains(err.Error(), "drain"); isDrain != tc.wantDrain {
				t.Errorf("Run = %v, want a drain cut-off: %v", err, tc.wantDrain)
			}
			if Failures(err) != nil {
				t.Errorf("Failures(%v) = %v, want nil: nothing but a cut-off", err, Failures(err))
			}
			if cerr := <-got; (cerr == nil) == tc.wantDrain {
				t.Errorf("client: %v", cerr)
			}
			if tc.handler != 0 {
				close(release)
			}
		})
	}
}

// TestRunEndsWhenAServerFails: a listener that fails ends the run with its
// error, and the other servers are shut down.
func TestRunEndsWhenAServerFails(t *testing.T) {
	bad := listen(t)
	bad.Close()
	good := listen(t)
	err := Run(context.Background(), time.Second, nil,
		Server{&http.Server{Handler: http.NotFoundHandler()}, good},
		Server{&http.Server{Handler: http.NotFoundHandler()}, bad})
	if err == nil || !errors.Is(err, net.ErrClosed) || !errors.Is(Failures(err), net.ErrClosed) {
		t.Fatalf("Run = %v (failures %v), want the closed listener's error", err, Failures(err))
	}
}

// TestIsLoopback: only loopback hosts are loopback; every interface is not.
func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9100": true, "localhost:0": true, "[::1]:9100": true, "127.1.2.3:1": true,
		":9100": false, "0.0.0.0:9100": false, "[::]:9100": false, "10.0.0.1:9100": false, "example.com:80": false, "nonsense": false,
	} {
		assert.Equal(t, want, IsLoopback(addr), addr)
	}
}
