//go:build linux

package workload

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// awaitRecorder is a connection writer that can await answers, and
// counts how often an exchange asked it to.
type awaitRecorder struct {
	io.ReadWriter
	armed int
}

func (a *awaitRecorder) awaitAnswer() { a.armed++ }

var _ answerAwaiter = (*awaitRecorder)(nil)

// TestExchangeAwaitsTheAnswerOnlyOnAConnectionThatAnsweredJustNow: the
// first exchange on a connection reads first (nothing answered on it
// yet), the next one awaits its answer with its last write, and one after
// the connection idled longer than awaitFresh reads first again.
func TestExchangeAwaitsTheAnswerOnlyOnAConnectionThatAnsweredJustNow(t *testing.T) {
	client, server := tcpPair(t)
	go func() {
		br := bufio.NewReader(server)
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) == 2 { // the blank line ending a GET
				if _, err := server.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")); err != nil {
					return
				}
			}
		}
	}()
	rec := &awaitRecorder{ReadWriter: client}
	pc := newPconn(client, rec)
	if pc.aw != rec {
		t.Fatal("the connection does not use its writer's answerAwaiter")
	}
	p := newConnPool(client.RemoteAddr().String(), false, ClientOptions{Connections: 1})
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI("http://" + client.RemoteAddr().String() + "/")
	deadline := time.Now().Add(10 * time.Second)
	for i, tc := range []struct {
		idle      time.Duration // how long ago the last answer came (0: as it was)
		wantArmed int           // awaits so far
	}{
		{0, 0}, // a new connection: nothing answered yet
		{0, 1}, // answered just now
		{2 * awaitFresh, 1},
		{0, 2},
	} {
		if tc.idle > 0 {
			pc.answered = time.Now().Add(-tc.idle)
		}
		resp.Reset()
		n, err := p.exchange(context.Background(), pc, deadline, req, resp, false)
		if err != nil || n != 2 || resp.StatusCode() != 200 {
			t.Fatalf("exchange %d: %d bytes, status %d, %v", i, n, resp.StatusCode(), err)
		}
		if rec.armed != tc.wantArmed {
			t.Fatalf("exchange %d: %d awaits so far, want %d", i, rec.armed, tc.wantArmed)
		}
	}
}

// TestPconnWithoutRawIOAwaitsNothing: a connection read through net.Conn
// (TLS, or elsewhere than Linux) has no answerAwaiter.
func TestPconnWithoutRawIOAwaitsNothing(t *testing.T) {
	client, _ := net.Pipe()
	defer client.Close()
	if pc := newPconn(client, client); pc.aw != nil {
		t.Fatalf("a net.Pipe connection awaits answers: %T", pc.aw)
	}
}
