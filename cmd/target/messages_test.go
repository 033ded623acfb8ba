package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
)

func TestRunMessageFlags(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"--consumers", "2", "--consume-dep", "search",
		"--deliver-to", "http://127.0.0.1:9/deliveries", "--queue-discipline", "priority", "--queue-capacity", "50",
		"--age-threshold", "250ms", "--message-ttl", "3s", "--backpressure-depth", "40", "--backpressure-age", "2s",
		"--surge-queue", "20", "--queues", "8", "--shard-size", "2", "--print-config"}, &stdout, &stderr)
	require.NoError(t, err, stderr.String())
	out := stdout.String()
	for _, want := range []string{"consumers: 2", "process: search", "deliver_to: http://127.0.0.1:9/deliveries",
		"discipline: priority", "capacity: 50", "age_threshold: 250ms", "ttl: 3s", "backpressure_depth: 40",
		"backpressure_age: 2s", "surge_capacity: 20", "queues: 8", "shard_size: 2"} {
		assert.Contains(t, out, want)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--queue-discipline", "random"}, "--queue-discipline"},
		{[]string{"--consumers", "0"}, "--consumers"},
		{[]string{"--deliver-to", "sink:9000"}, "--deliver-to"},
		{[]string{"--message-ttl", "-1s"}, "--message-ttl"},
		{[]string{"--consume-dep", "cache"}, "messages.process"},
		{[]string{"--queues", "2", "--shard-size", "3"}, "messages.queue.shard_size"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), tt.args, &stdout, &stderr)
		require.Error(t, err, tt.args)
		assert.Equal(t, cli.ExitUsage, cli.Exit("target", err, &stderr), tt.args)
		assert.Contains(t, stderr.String(), tt.want, tt.args)
	}
}

// The target started by run accepts a message and its consumers deliver it
// to --deliver-to; /admin/backlog shows the queue settings.
func TestRunDeliversMessages(t *testing.T) {
	got := make(chan string, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var d struct {
			RequestID string `json:"request_id"`
			Status    string `json:"status"`
		}
		assert.NoError(t, json.NewDecoder(r.Body).Decode(&d))
		got <- d.RequestID + " " + d.Status
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	api, admin, stop := startRun(t, "--db-latency", "1ms", "--consumers", "1", "--deliver-to", recv.URL)
	client := &http.Client{}
	defer client.CloseIdleConnections()

	req, err := http.NewRequest("POST", api+"/api/messages", strings.NewReader(`{"tenant":"a","body":"hi"}`))
	require.NoError(t, err)
	req.Header.Set("X-Request-Id", "9")
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusAccepted, resp.StatusCode)
	select {
	case d := <-got:
		assert.Equal(t, "9 delivered", d)
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery in 10s")
	}

	resp, err = client.Get(admin + "/admin/backlog")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(body), `"deliver_to":"`+recv.URL+`"`)
	require.NoError(t, stop())
}
