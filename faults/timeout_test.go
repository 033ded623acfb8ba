package faults

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTimeoutServeNeverAnswers(t *testing.T) {
	lifted := make(chan struct{})
	reached := make(chan struct{})
	next := &stamp{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(reached)
		Timeout{}.Serve(w, r, next, Env{Lifted: lifted})
	}))
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()

	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", srv.URL, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-reached
	select {
	case err := <-errc:
		t.Fatalf("answered while the fault was in place: %v", err)
	case <-time.After(100 * time.Millisecond): // a bounded look for an early answer, not a wait for a condition
	}
	close(lifted)
	err := <-errc
	require.Error(t, err, "the connection is closed without an answer")
	assert.True(t, errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF), "got %v", err)
	assert.True(t, next.at.IsZero(), "the upstream was not called")
	assert.NoError(t, Timeout{}.Validate())
}
