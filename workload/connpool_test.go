package workload

import (
	"context"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConnPoolPrunesConnectionsIdleTooLong(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed := make(chan struct{}, 3)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c) // until the client closes
				closed <- struct{}{}
			}()
		}
	}()
	p := newConnPool(ln.Addr().String(), false, ClientOptions{Connections: 3, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	var conns []*pconn
	for range 3 {
		pc, _, err := p.get(context.Background(), time.Time{}, true)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, pc)
	}
	for _, pc := range conns {
		p.put(pc, true)
	}
	now := time.Now()
	conns[0].lastUse = now.Add(-2 * idleTimeout)
	conns[1].lastUse = now.Add(-idleTimeout - time.Second)
	p.prune(now)
	if len(p.idle) != 1 || p.idle[0] != conns[2] {
		t.Fatalf("%d idle after prune, want only the fresh one", len(p.idle))
	}
	for range 2 {
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("a pruned connection was not closed")
		}
	}
}

// gatedDials makes a pool's dials wait for a go-ahead: each dial reports
// itself on started, then waits on release (or its context).
type gatedDials struct {
	started chan struct{}
	release chan struct{}
	real    func(ctx context.Context, network, addr string) (net.Conn, error)
}

func gateDials(p *connPool) *gatedDials {
	g := &gatedDials{started: make(chan struct{}, 100), release: make(chan struct{}), real: p.dial}
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		g.started <- struct{}{}
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return g.real(ctx, network, addr)
	}
	return g
}

// loopbackSink accepts connections on 127.0.0.1 and reads them until they
// close.
func loopbackSink(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c)
			})
		}
	})
	return ln.Addr().String()
}

// TestConnPoolTakesAFreedConnectionBeforeItsOwnDial: a request that finds
// no idle connection starts a dial, but takes a connection another request
// frees first; the dialed one then joins the idle list.
func TestConnPoolTakesAFreedConnectionBeforeItsOwnDial(t *testing.T) {
	p := newConnPool(loopbackSink(t), false, ClientOptions{Connections: 4, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	a, _, err := p.get(context.Background(), time.Time{}, false)
	if err != nil {
		t.Fatal(err)
	}
	g := gateDials(p)
	type got struct {
		pc     *pconn
		reused bool
		err    error
	}
	done := make(chan got, 1)
	go func() {
		pc, reused, err := p.get(context.Background(), time.Time{}, false)
		done <- got{pc, reused, err}
	}()
	<-g.started // the second request is dialing
	p.put(a, true)
	b := <-done
	if b.err != nil || b.pc != a || !b.reused {
		t.Fatalf("second request got %p (reused %v, %v), want the freed connection %p", b.pc, b.reused, b.err, a)
	}
	close(g.release)
	for deadline := time.Now().Add(10 * time.Second); ; {
		p.mu.Lock()
		idle, open := len(p.idle), p.open
		p.mu.Unlock()
		if idle == 1 && open == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the dial: %d idle, %d open; want the dialed connection idle, 2 open", idle, open)
		}
		runtime.Gosched()
	}
	p.put(b.pc, true)
}

// TestConnPoolBoundsDialsAndConnections: a burst of requests dials at most
// maxDials connections at once and opens at most the pool's bound.
func TestConnPoolBoundsDialsAndConnections(t *testing.T) {
	const bound = maxDials + 4
	p := newConnPool(loopbackSink(t), false, ClientOptions{Connections: bound, DialTimeout: 5 * time.Second})
	defer p.closeIdle()
	g := gateDials(p)
	const burst = 3 * bound
	var wg sync.WaitGroup
	var peakOpen atomic.Int64
	for range burst {
		wg.Go(func() {
			pc, _, err := p.get(context.Background(), time.Time{}, false)
			if err != nil {
				t.Error(err)
				return
			}
			p.mu.Lock()
			peakOpen.Store(max(peakOpen.Load(), int64(p.open)))
			p.mu.Unlock()
			p.put(pc, true)
		})
	}
	for range maxDials {
		<-g.started
	}
	p.mu.Lock()
	dialing := p.dialing
	p.mu.Unlock()
	if dialing != maxDials {
		t.Fatalf("%d dials at once, want %d", dialing, maxDials)
	}
	close(g.release)
	wg.Wait()
	if n := peakOpen.Load(); n > bound {
		t.Fatalf("%d connections open at once, want ≤ %d", n, bound)
	}
}
