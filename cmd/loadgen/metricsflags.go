package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/harness/metrics"
	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/internal/serve"
)

// metricsFlags are the flags that serve a run's live metrics (attack,
// ramp, run).
type metricsFlags struct {
	listen    string
	linger    time.Duration
	tokenFile string
}

func addMetricsFlags(fs *pflag.FlagSet) *metricsFlags {
	m := &metricsFlags{}
	fs.StringVar(&m.listen, "metrics-listen", "", "serve live Prometheus metrics on ADDR/metrics while the run plays (e.g. 127.0.0.1:9464; port 0 picks a free one); a non-loopback address needs --metrics-token-file")
	fs.DurationVar(&m.linger, "metrics-linger", 0, "keep serving the metrics this long after the run ends, for a last scrape (e.g. 15s)")
	fs.StringVar(&m.tokenFile, "metrics-token-file", "", "read a bearer token from FILE (one trailing newline trimmed): every scrape must send Authorization: Bearer <token>")
	return m
}

// watch serves a run's live metrics; the zero value (nil) serves none.
type watch struct {
	reg    *metrics.Registry
	linger time.Duration
	cancel context.CancelFunc
	wg     sync.WaitGroup
	err    error
}

// start checks the flags and, when --metrics-listen is set, listens and
// serves the metrics until stop; it tells stderr where. It returns nil
// without --metrics-listen.
func (m *metricsFlags) start(ctx context.Context, name string, stderr io.Writer) (*watch, error) {
	if m.linger < 0 {
		return nil, flagErr("metrics-linger", fmt.Errorf("%v: must be ≥ 0", m.linger))
	}
	if m.listen == "" {
		for _, f := range []struct {
			set  bool
			name string
		}{{m.linger != 0, "metrics-linger"}, {m.tokenFile != "", "metrics-token-file"}} {
			if f.set {
				return nil, flagErr(f.name, fmt.Errorf("needs --metrics-listen ADDR"))
			}
		}
		return nil, nil
	}
	if _, _, err := net.SplitHostPort(m.listen); err != nil {
		return nil, flagErr("metrics-listen", fmt.Errorf("%q: want HOST:PORT, e.g. 127.0.0.1:9464: %v", m.listen, err))
	}
	token := ""
	if m.tokenFile != "" {
		var err error
		if token, err = readToken(m.tokenFile); err != nil {
			return nil, flagErr("metrics-token-file", err)
		}
	} else if !serve.IsLoopback(m.listen) {
		return nil, flagErr("metrics-listen", fmt.Errorf("%s is not a loopback address: give --metrics-token-file FILE so that scrapes need a bearer token, or listen on 127.0.0.1", m.listen))
	}
	ln, err := net.Listen("tcp", m.listen)
	if err != nil {
		return nil, cli.Runf("%s: --metrics-listen: %v", name, err)
	}
	w := &watch{reg: metrics.NewRegistry(), linger: m.linger}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	w.cancel = cancel
	w.wg.Go(func() { w.err = w.reg.Serve(sctx, ln, token) })
	fmt.Fprintf(stderr, "%s: metrics on http://%s/metrics\n", name, ln.Addr())
	return w, nil
}

// registry returns the registry runs count into; nil without metrics.
func (w *watch) registry() *metrics.Registry {
	if w == nil {
		return nil
	}
	return w.reg
}

// stop keeps serving for the linger (cut short when ctx ends: an
// interrupted run does not wait), then stops the server and waits for it.
func (w *watch) stop(ctx context.Context) error {
	if w == nil {
		return nil
	}
	if w.linger > 0 && ctx.Err() == nil {
		t := time.NewTimer(w.linger)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	w.cancel()
	w.wg.Wait()
	return w.err
}

// readToken reads a bearer token from file: its one line, a trailing
// newline ("\n" or "\r\n") trimmed; an empty token is refused.
func readToken(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if tok == "" {
		return "", fmt.Errorf("%s is empty, want the token on its first line", file)
	}
	if strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("%s has more than one line, want the token alone", file)
	}
	return tok, nil
}
