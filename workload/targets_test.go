package workload

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadTargetsHTTPIsVegetasFormat(t *testing.T) {
	body := filepath.Join(t.TempDir(), "order.json")
	require.NoError(t, os.WriteFile(body, []byte(`{"sku": "{not a placeholder}"}`), 0o644))
	file := "# three routes\n" +
		"GET http://127.0.0.1:8080/a?x=1\n\n" +
		"POST http://127.0.0.1:8080/b\nContent-Type: application/json\nX-Token: abc:def\n@" + body + "\n\n" +
		"\nGET https://127.0.0.1:8443/c\n"
	ts, err := ReadTargets(strings.NewReader(file), "targets.http", TargetsHTTP)
	require.NoError(t, err)
	require.Len(t, ts, 3)
	assert.Equal(t, Template{Method: "GET", URL: "http://127.0.0.1:8080/a?x=1", Literal: true}, ts[0])
	assert.Equal(t, "POST", ts[1].Method)
	assert.Equal(t, `{"sku": "{not a placeholder}"}`, string(ts[1].Body))
	assert.Equal(t, http.Header{"Content-Type": {"application/json"}, "X-Token": {"abc:def"}}, ts[1].Header)
	assert.Equal(t, []string{"http://127.0.0.1:8080", "https://127.0.0.1:8443"}, TargetHosts(ts))
}

func TestReadTargetsRefusesNamingFileAndLine(t *testing.T) {
	tests := []struct {
		format TargetsFormat
		in     string
		want   string
	}{
		{TargetsHTTP, "GET /relative\n", "t:1: url \"/relative\": want an absolute http://"},
		{TargetsHTTP, "get http://h/\n", "t:1: \"get http://h/\": want a target's first line"},
		{TargetsHTTP, "GET http://h/\n@/no/such/body\n", "t:2: body:"},
		{TargetsHTTP, "GET http://h/\nnot a header\n", "t:2: \"not a header\": want a header"},
		{TargetsHTTP, "# only a comment\n", "t: no targets"},
		{TargetsJSONL, `{"url": "http://h/", "bdy": "x"}` + "\n", "t:1: json: unknown field \"bdy\""},
		{TargetsJSONL, "\n" + `{"method": "post", "url": "http://h/"}`, "t:2: method \"post\""},
		{TargetsJSONL, `{"url": "ftp://h/"}`, "t:1: url \"ftp://h/\""},
		{"yaml", "", "targets format \"yaml\": want http or jsonl"},
	}
	for _, tt := range tests {
		_, err := ReadTargets(strings.NewReader(tt.in), "t", tt.format)
		if assert.Error(t, err, tt.in) {
			assert.Contains(t, err.Error(), tt.want)
		}
	}
}

func TestReadTargetsJSONL(t *testing.T) {
	in := `{"name": "create order", "method": "POST", "url": "http://h/orders", "header": {"X-A": ["1", "2"]}, "body": "eyJhIjoxfQ=="}` + "\n" +
		`{"url": "http://h/items/{seq}"}` + "\n"
	ts, err := ReadTargets(strings.NewReader(in), "t.jsonl", TargetsJSONL)
	require.NoError(t, err)
	require.Len(t, ts, 2)
	assert.Equal(t, Template{Name: "create order", Method: "POST", URL: "http://h/orders", Header: http.Header{"X-A": {"1", "2"}}, Body: []byte(`{"a":1}`), Literal: true}, ts[0])
	assert.Equal(t, Template{Method: "GET", URL: "http://h/items/{seq}", Literal: true}, ts[1])
}

func TestRoundRobinPlaysTargetsInFileOrderAsWritten(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
	}))
	defer srv.Close()
	ts := []Template{
		{Method: "GET", URL: srv.URL + "/a/{seq}", Literal: true},
		{Method: "POST", URL: srv.URL + "/b", Body: []byte("{x}"), Literal: true},
		{Method: "GET", URL: srv.URL + "/c", Literal: true},
	}
	cfg := constantConfig(srv.URL, 60, 500*time.Millisecond)
	cfg.Mix, cfg.Order = ts, OrderRoundRobin
	r := newRunner(t, cfg)
	var sink memSink
	require.NoError(t, r.Run(t.Context(), &sink))
	rs := sink.results()
	require.Len(t, rs, 30)
	counts := map[string]int{}
	for _, res := range rs {
		counts[res.Route]++
	}
	assert.Equal(t, map[string]int{"GET /a/{seq}": 10, "POST /b": 10, "GET /c": 10}, counts, "each route in turn, named METHOD /path")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, seen, "GET /a/%7Bseq%7D", "a literal target's braces are sent as written, not as a placeholder")
}
