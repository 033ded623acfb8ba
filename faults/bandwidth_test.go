package faults

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestBandwidthValidate(t *testing.T) {
	assert.NoError(t, Bandwidth{BytesPerSecond: 1}.Validate())
	assert.Equal(t, "bytes_per_second", fieldOf(t, Bandwidth{}.Validate()))
	assert.Equal(t, "bytes_per_second", fieldOf(t, Bandwidth{BytesPerSecond: -5}.Validate()))
}

func TestBandwidthServePacesTheBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), 5000)
		upstream := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(body)
		})
		w := httptest.NewRecorder()
		start := time.Now()
		Bandwidth{BytesPerSecond: 1000}.Serve(w, httptest.NewRequest("GET", "/", nil), upstream, Env{})
		// 5000 bytes at 1000 B/s in slices of 100 bytes: 50 waits of 100 ms.
		assert.Equal(t, 5*time.Second, time.Since(start))
		assert.Equal(t, body, w.Body.Bytes(), "every byte arrives")
	})
}

// TestBandwidthServeStopsPacingWhenLifted: removing the fault lets the
// rest of a paced body go at full speed (issue #19: a removed fault
// holds nothing).
func TestBandwidthServeStopsPacingWhenLifted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := bytes.Repeat([]byte("x"), 5000)
		upstream := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(body)
		})
		lifted := make(chan struct{})
		time.AfterFunc(time.Second, func() { close(lifted) })
		w := httptest.NewRecorder()
		start := time.Now()
		Bandwidth{BytesPerSecond: 1000}.Serve(w, httptest.NewRequest("GET", "/", nil), upstream, Env{Lifted: lifted})
		assert.Equal(t, time.Second, time.Since(start), "paced until lifted, then at full speed")
		assert.Equal(t, body, w.Body.Bytes())
	})
}
