package target

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fast returns a preset with quick dependencies, for route tests.
func fast(t *testing.T, preset string) Config {
	t.Helper()
	cfg, err := Preset(preset)
	require.NoError(t, err)
	cfg.DB.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(time.Millisecond)}
	cfg.Search.Latency = dist.Latency{Dist: "fixed", P50: dist.Duration(time.Millisecond)}
	cfg.Jobs.ChunkTime = dist.Duration(time.Millisecond)
	return cfg
}

type testServer struct {
	s          *Server
	api, admin string
	client     *http.Client
}

func start(t *testing.T, cfg Config) *testServer {
	t.Helper()
	s, err := New(cfg)
	require.NoError(t, err)
	return startServer(t, s)
}

// startServer serves s's API and admin handlers on httptest servers.
func startServer(t *testing.T, s *Server) *testServer {
	t.Helper()
	api := httptest.NewServer(s.Handler())
	admin := httptest.NewServer(s.AdminHandler())
	client := &http.Client{Timeout: 30 * time.Second}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		api.Close()
		admin.Close()
	})
	return &testServer{s: s, api: api.URL, admin: admin.URL, client: client}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (ts *testServer) do(t *testing.T, method, u string, body io.Reader, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

var serverTiming = regexp.MustCompile(`^queue;dur=[0-9.]+, app;dur=[0-9.]+(, [a-z]+;dur=[0-9.]+)*$`)

func TestRoutes(t *testing.T) {
	for _, preset := range Presets() {
		t.Run(preset, func(t *testing.T) {
			ts := start(t, fast(t, preset))
			a := ts.do(t, "GET", ts.api+"/api/items/42", nil)
			assert.Equal(t, 200, a.status, a.body)
			assert.JSONEq(t, `{"id":42,"name":"item-42"}`, a.body)
			assert.Regexp(t, serverTiming, a.header.Get("Server-Timing"))
			assert.Contains(t, a.header.Get("Server-Timing"), ", db;dur=")

			a = ts.do(t, "GET", ts.api+"/api/search?q=shoes", nil)
			assert.Equal(t, 200, a.status, a.body)
			assert.Contains(t, a.header.Get("Server-Timing"), ", search;dur=")

			a = ts.do(t, "POST", ts.api+"/api/work", strings.NewReader(`{"size": 5000}`))
			assert.Equal(t, 200, a.status, a.body)
			assert.Contains(t, a.body, `"size":5000`)

			a = ts.do(t, "GET", ts.api+"/healthz", nil)
			assert.Equal(t, 200, a.status)
			assert.Equal(t, "ok\n", a.body)
			assert.Regexp(t, serverTiming, a.header.Get("Server-Timing"))
		})
	}
}

func TestBadInput(t *testing.T) {
	ts := start(t, fast(t, PresetUnprotected))
	huge := strings.Repeat(" ", 70<<10) + `{"size": 1}`
	tests := []struct {
		name   string
		method string
		path   string
		body   io.Reader
		status int
		want   string
	}{
		{"bad id", "GET", "/api/items/abc", nil, 400, "id"},
		{"no query", "GET", "/api/search", nil, 400, "q:"},
		{"size above max", "POST", "/api/work", strings.NewReader(`{"size": 1000001}`), 400, "1000000"},
		{"negative size", "POST", "/api/work", strings.NewReader(`{"size": -1}`), 400, "size"},
		{"malformed json", "POST", "/api/work", strings.NewReader(`{"size": `), 400, "malformed JSON"},
		{"unknown field", "POST", "/api/work", strings.NewReader(`{"sise": 3}`), 400, "sise"},
		{"body too large (length known)", "POST", "/api/work", strings.NewReader(huge), 413, "65536"},
		// A reader that is not a *strings.Reader makes the client send the
		// body chunked, without a Content-Length.
		{"body too large (chunked)", "POST", "/api/work", io.MultiReader(strings.NewReader(huge)), 413, "65536"},
		{"bad page size", "GET", "/api/items?page_size=-3", nil, 400, "page_size"},
		{"bad filter", "GET", "/api/items?filter=colour%3Dred", nil, 400, "condition"},
		{"tampered token", "GET", "/api/items?page_token=AfcG-Yui2AYIc2l6ZT45OTVM9ty8kVISpW6022EzCldr83yBBIuJRwh_h2xt7e8T2Q", nil, 400, "page_token"},
		{"garbage token", "GET", "/api/items?page_token=%00%01", nil, 400, "page_token"},
		{"job without key", "POST", "/api/jobs", strings.NewReader(`{"chunks": 2}`), 400, "Idempotency-Key"},
		{"unknown job", "GET", "/api/jobs/job-999", nil, 404, "job-999"},
		{"unknown route", "GET", "/api/nothing", nil, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := ts.do(t, tt.method, ts.api+tt.path, tt.body)
			assert.Equal(t, tt.status, a.status, a.body)
			assert.Contains(t, a.body, tt.want)
		})
	}
}

type page struct {
	Items []struct {
		ID   uint64 `json:"id"`
		Size int    `json:"size"`
	} `json:"items"`
	NextPageToken string `json:"next_page_token"`
	Partial       bool   `json:"partial"`
	Scanned       int    `json:"scanned"`
	PageSize      int    `json:"page_size"`
}

func TestListPagination(t *testing.T) {
	cfg := fast(t, PresetUnprotected)
	cfg.List.Items = 30_000
	cfg.List.ScanBudget = 2_000
	ts := start(t, cfg)

	get := func(q url.Values) (page, answer) {
		a := ts.do(t, "GET", ts.api+"/api/items?"+q.Encode(), nil)
		var p page
		if a.status == 200 {
			require.NoError(t, json.Unmarshal([]byte(a.body), &p), a.body)
		}
		return p, a
	}
	p, _ := get(url.Values{"page_size": {"100000"}})
	assert.Equal(t, cfg.List.MaxPageSize, p.PageSize, "page_size is capped")
	assert.Len(t, p.Items, cfg.List.MaxPageSize)

	// A rare filter: every request examines at most the budget, pages
	// come back partial, and following the tokens visits every match once.
	seen := map[uint64]bool{}
	q := url.Values{"filter": {"size>995"}, "page_size": {"50"}}
	requests, partial := 0, 0
	for {
		p, a := get(q)
		require.Equal(t, 200, a.status, a.body)
		requests++
		assert.LessOrEqual(t, p.Scanned, cfg.List.ScanBudget)
		if p.Partial {
			partial++
		}
		for _, it := range p.Items {
			assert.Greater(t, it.Size, 995)
			assert.False(t, seen[it.ID], "item %d twice", it.ID)
			seen[it.ID] = true
		}
		if p.NextPageToken == "" {
			break
		}
		q.Set("page_token", p.NextPageToken)
	}
	assert.GreaterOrEqual(t, requests, 15, "30000 items / 2000 budget")
	assert.Positive(t, partial)
	assert.InDelta(t, 30_000*4/1000, len(seen), 40)

	// A token only continues the scan it was issued for.
	q.Set("filter", "color=red")
	_, a := get(q)
	assert.Equal(t, 400, a.status)
	assert.Contains(t, a.body, "issued for filter")
}

func TestJobResumesFromCheckpoint(t *testing.T) {
	for _, checkpoint := range []bool{true, false} {
		t.Run(fmt.Sprintf("checkpoint=%v", checkpoint), func(t *testing.T) {
			cfg := fast(t, PresetUnprotected)
			cfg.Jobs.ChunkTime = dist.Duration(20 * time.Millisecond)
			cfg.Jobs.Checkpoint = checkpoint
			ts := start(t, cfg)
			const chunks = 10

			// The first attempt gives up part way (client timeout).
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Millisecond)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "POST", ts.api+"/api/jobs", strings.NewReader(`{"chunks": 10}`))
			require.NoError(t, err)
			req.Header.Set("Idempotency-Key", "order-7")
			_, err = ts.client.Do(req)
			require.ErrorIs(t, err, context.DeadlineExceeded)

			// The server notices the client left and stops at a chunk
			// boundary, keeping its checkpoint.
			var st JobStatus
			require.Eventually(t, func() bool {
				a := ts.do(t, "GET", ts.api+"/api/jobs/job-1", nil)
				require.NoError(t, json.Unmarshal([]byte(a.body), &st))
				return st.Done > 0 && len(ts.s.jobs.byIDGet("job-1").run) == 0
			}, 5*time.Second, 5*time.Millisecond)
			require.Less(t, st.Done, chunks, "the first attempt did not finish")
			firstDone := st.Done

			a := ts.do(t, "POST", ts.api+"/api/jobs", strings.NewReader(`{"chunks": 10}`), "Idempotency-Key", "order-7")
			require.Equal(t, 200, a.status, a.body)
			require.NoError(t, json.Unmarshal([]byte(a.body), &st))
			assert.Equal(t, "done", st.State)
			assert.Equal(t, chunks, st.Done)
			assert.Equal(t, 2, st.Attempts)
			if checkpoint {
				assert.Equal(t, chunks, st.Executed, "no finished chunk was redone")
			} else {
				assert.Equal(t, chunks+firstDone, st.Executed, "without checkpoints the retry starts over")
			}

			a = ts.do(t, "POST", ts.api+"/api/jobs", strings.NewReader(`{"chunks": 3}`), "Idempotency-Key", "order-7")
			assert.Equal(t, 422, a.status, "same key, different request")
		})
	}
}

func TestJobTableIsBounded(t *testing.T) {
	tb := newJobTable(2)
	a, err := tb.get("a", 1)
	require.NoError(t, err)
	_, err = tb.get("b", 1)
	require.NoError(t, err)
	a.run <- struct{}{} // a is running
	_, err = tb.get("c", 1)
	require.NoError(t, err, "b (idle) is evicted")
	assert.Nil(t, tb.byKey["b"])
	c, err := tb.get("c", 1)
	require.NoError(t, err, "an existing key is found whatever the table holds")
	c.run <- struct{}{} // c is running too
	_, err = tb.get("d", 1)
	assert.ErrorIs(t, err, errJobTableFull, "running jobs are never evicted")
	<-c.run
	_, err = tb.get("d", 1)
	assert.NoError(t, err)
}
