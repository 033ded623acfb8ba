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

// Run serves each server on its listener until ctx ends or one of them
// fails. It then calls stopping (when not nil) and shuts every server down:
// requests in flight get drain to finish, and the connections of those
// that did not finish are closed. It returns after every server has
// returned, with the failure that ended the run joined with a "drain"
// error for each server the drain cut off; nil after a clean shutdown.
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
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	if stopping != nil {
		stopping()
	}
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	for _, s := range servers {
		if serr := s.Shutdown(dctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("drain: %w", serr))
			_ = s.Close() // cut off what did not drain
		}
	}
	wg.Wait()
	return err
}
