package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInterruptedRunsRecordTheSameEvent interrupts an attack, a ramp and a
// scenario's run once the target has answered ten requests: each keeps its
// results and ends them with the one interrupted event of the run driver,
// whoever drove the load.
func TestInterruptedRunsRecordTheSameEvent(t *testing.T) {
	tests := []struct {
		name string
		args func(url, dir string) []string
	}{
		{"attack", func(url, dir string) []string {
			return []string{"attack", "--url", url, "--rate", "100", "--duration", "1m", "--quiet", "-o", filepath.Join(dir, "attack.mpk")}
		}},
		{"ramp", func(url, dir string) []string {
			return []string{"ramp", "--url", url, "--from", "100", "--to", "200", "--step", "100", "--step-duration", "30s", "-o", filepath.Join(dir, "ramp.mpk")}
		}},
		{"run", func(url, dir string) []string {
			profile := filepath.Join(dir, "interrupted.yaml")
			yaml := fmt.Sprintf("target: {url: %q}\nrequests: [{name: root, path: /}]\nphases: [{name: steady, duration: 1m, rate: 100}]\nreport: {formats: [text]}\n", url)
			require.NoError(t, os.WriteFile(profile, []byte(yaml), 0o644))
			return []string{"run", "--quiet", "--out", dir, profile}
		}},
	}
	var events []results.Event
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			var once sync.Once
			tenth := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) >= 10 {
					once.Do(func() { close(tenth) })
				}
			}))
			defer srv.Close()
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- run(ctx, tt.args(srv.URL, dir), io.Discard, io.Discard) }()
			select {
			case <-tenth:
			case err := <-done:
				t.Fatalf("%s ended before it was interrupted: %v", tt.name, err)
			case <-time.After(10 * time.Second):
				t.Fatal("no traffic within 10 s")
			}
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the interrupted run did not return within 10 s")
			}
			files, err := filepath.Glob(filepath.Join(dir, "*.mpk"))
			require.NoError(t, err)
			require.Len(t, files, 1, "one results file")
			_, rs, evs := readResultsAt(t, files[0])
			require.NotEmpty(t, rs, "the results recorded before the interruption are kept")
			var got []results.Event
			for _, e := range evs {
				if e.Kind == results.EventInterrupted {
					got = append(got, e)
				}
			}
			require.Len(t, got, 1, "interrupted events of %s: %+v", tt.name, evs)
			assert.Equal(t, results.EventInterrupted, evs[len(evs)-1].Kind, "the interruption is the last event")
			assert.Positive(t, got[0].At, "the event is stamped when the run stopped")
			events = append(events, got[0])
		})
	}
	require.Len(t, events, len(tests))
	for i, e := range events {
		assert.Equal(t, "interrupted", e.Name, tests[i].name)
		assert.Equal(t, "", e.Target, tests[i].name)
		assert.Equal(t, context.Canceled.Error(), e.Detail, tests[i].name)
		assert.Equal(t, e.At, e.Scheduled, tests[i].name)
	}
}
