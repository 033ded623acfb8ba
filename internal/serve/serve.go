// Package serve runs HTTP servers until their context ends, then drains
// them: the lifecycle the reference target and the fault proxy share.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an HTTP server and the listener it serves.
type Server struct {
	*http.Server
	Listener net.Listener
}

// ErrCutOff is in the error Run returns for each server whose drain ended
// with requests still running (their connections were closed).
var ErrCutOff = errors.New("cut off")

// Run serves each server on its listener until ctx ends or one of them
// fails. It then calls stopping (when not nil) and shuts every server down:
// requests in flight get drain to finish, and the connections of those
// that did not finish are closed. It returns after every server has
// returned, with the failure that ended the run joined with a "drain"
// error (ErrCutOff) for each server the drain cut off; nil after a clean
// shutdown.
func Run(ctx context.Context, drain time.Duration, stopping func(), servers ...Server) error {
	var wg sync.WaitGroup
	errc := make(chan error, len(servers))
	for _, s := range servers {
		wg.Go(func() {
			if err := s.Serve(s.Listener); !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("serve %s: %w", s.Listener.Addr(), err)
			}
		})
	}
	var errs []error
	select {
	case <-ctx.Done():
	case err := <-errc:
		errs = append(errs, err)
	}
	if stopping != nil {
		stopping()
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	for _, s := range servers {
		if serr := s.Shutdown(dctx); serr != nil {
			errs = append(errs, fmt.Errorf("drain %s: %w: %w", s.Listener.Addr(), ErrCutOff, serr))
			_ = s.Close() // cut off what did not drain
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Failures returns the error of Run without its cut-offs: what went wrong
// other than requests still running when the drain ended.
func Failures(err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		if errors.Is(err, ErrCutOff) {
			return nil
		}
		return err
	}
	var kept []error
	for _, e := range j.Unwrap() {
		if !errors.Is(e, ErrCutOff) {
			kept = append(kept, e)
		}
	}
	return errors.Join(kept...)
}

// IsLoopback reports whether addr (host:port) listens on a loopback
// address only: "localhost", 127.0.0.0/8 or ::1. An empty host (every
// interface) is not. Servers that take a token use it to decide whether
// they may go without one.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
