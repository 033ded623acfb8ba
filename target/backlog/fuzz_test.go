package backlog

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzServeHTTP feeds arbitrary bodies to the enqueue handler: it answers
// 202 (and queues exactly one message), 400 or 413, and never panics.
func FuzzServeHTTP(f *testing.F) {
	f.Add([]byte(`{"tenant":"a","room":"r","body":"hi"}`))
	f.Add([]byte(`{"body":1}`))
	f.Add([]byte(`{"tenant":"` + string(bytes.Repeat([]byte("x"), 200)) + `"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := DefaultConfig()
		c.MaxBodyBytes = 128
		s, err := NewService(c, Options{Consumers: 1})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/messages", bytes.NewReader(body)))
		depth := s.Backlog().Stats(t0).Depth
		switch w.Code {
		case http.StatusAccepted:
			if depth != 1 {
				t.Errorf("202 with depth %d", depth)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if depth != 0 {
				t.Errorf("%d with depth %d", w.Code, depth)
			}
			if w.Code == http.StatusRequestEntityTooLarge && len(body) <= 128 {
				t.Errorf("413 for a %d-byte body", len(body))
			}
		default:
			t.Errorf("status %d", w.Code)
		}
	})
}
