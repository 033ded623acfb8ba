package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/faults"
)

// call sends a raw control call and returns the status and body.
func call(t *testing.T, r *running, method, path, body, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, r.control.BaseURL+path, bytes.NewBufferString(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := r.control.HTTP.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestControlAPIContract(t *testing.T) {
	r := start(t, ok, "")
	code, body := call(t, r, "GET", "/faults", "", "")
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `[]`, body)

	code, body = call(t, r, "POST", "/faults", `{"name":"slow","kind":"delay","delay":"100ms","jitter":"20ms","route":"/api"}`, "")
	assert.Equal(t, http.StatusCreated, code, body)
	assert.JSONEq(t, `{"name":"slow","kind":"delay","delay":"100ms","jitter":"20ms","route":"/api","probability":1}`, body)

	code, body = call(t, r, "POST", "/faults", `{"name":"slow","kind":"abort","status":503}`, "")
	assert.Equal(t, http.StatusConflict, code, body)

	code, body = call(t, r, "POST", "/faults", `{"name":"x","kind":"abort","status":700}`, "")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "status: 700")

	code, body = call(t, r, "POST", "/faults", `{"name":"x","kind":"capacity","pool":2}`, "")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "kind: capacity cannot act through a proxy")

	code, body = call(t, r, "POST", "/faults", `{"name":"x","kind":"abort","status":503,"probabilty":0.3}`, "")
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, body, "probabilty: unknown field")

	code, body = call(t, r, "PUT", "/faults/errors", `{"kind":"abort","status":503,"probability":0.5}`, "")
	assert.Equal(t, http.StatusCreated, code, body)
	code, body = call(t, r, "PUT", "/faults/errors", `{"name":"errors","kind":"abort","status":500}`, "")
	assert.Equal(t, http.StatusOK, code, body)
	code, _ = call(t, r, "PUT", "/faults/errors", `{"name":"other","kind":"abort","status":500}`, "")
	assert.Equal(t, http.StatusBadRequest, code)

	specs, err := r.control.List(t.Context())
	require.NoError(t, err)
	require.Len(t, specs, 2)
	assert.Equal(t, "slow", specs[0].Name)
	assert.Equal(t, dist.Duration(100*time.Millisecond), specs[0].Delay)
	assert.Equal(t, faults.Spec{Name: "errors", Kind: "abort", Status: 500, Probability: ptr(1.0)}, specs[1])

	code, _ = call(t, r, "DELETE", "/faults/slow", "", "")
	assert.Equal(t, http.StatusNoContent, code)
	code, body = call(t, r, "DELETE", "/faults/slow", "", "")
	assert.Equal(t, http.StatusNotFound, code, body)

	code, body = call(t, r, "POST", "/reset", "", "")
	assert.Equal(t, http.StatusOK, code)
	var reset map[string]int
	require.NoError(t, json.Unmarshal([]byte(body), &reset))
	assert.Equal(t, map[string]int{"removed": 1}, reset)
	assert.Empty(t, r.p.List())
}

// TestControlAPIRefusesNonsenseWith400 is the regression test of issue
// #19: the control API accepted a delay of a million hours and a fault
// named "a/b".
func TestControlAPIRefusesNonsenseWith400(t *testing.T) {
	r := start(t, ok, "")
	for _, tc := range []struct {
		method, path, body, want string
	}{
		{"POST", "/faults", `{"name":"slow","kind":"delay","delay":"1000000h"}`, "delay: 1000000h0m0s, want ≤ 1h0m0s"},
		{"POST", "/faults", `{"name":"jittery","kind":"delay","delay":"1s","jitter":"2h"}`, "jitter: 2h0m0s, want ≤ 1h0m0s"},
		{"POST", "/faults", `{"name":"thin","kind":"bandwidth","bytes_per_second":100000000000}`, "bytes_per_second: 100000000000, want 1..10000000000"},
		{"POST", "/faults", `{"name":"a/b","kind":"stall"}`, `name: \"a/b\"`},
		{"PUT", "/faults/a%2Fb", `{"kind":"stall"}`, `name: \"a/b\"`},
		{"PUT", "/faults/slower", `{"kind":"delay","delay":"1000000h"}`, "delay: 1000000h0m0s"},
	} {
		code, body := call(t, r, tc.method, tc.path, tc.body, "")
		assert.Equal(t, http.StatusBadRequest, code, "%s %s %s: %s", tc.method, tc.path, tc.body, body)
		assert.Contains(t, body, tc.want, "%s %s %s", tc.method, tc.path, tc.body)
	}
	assert.Empty(t, r.p.List(), "nothing was put in place")
}

func ptr[T any](v T) *T { return &v }

func TestControlAPIWantsTheToken(t *testing.T) {
	r := start(t, ok, "s3cret")
	code, _ := call(t, r, "GET", "/faults", "", "")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = call(t, r, "POST", "/reset", "", "wrong")
	assert.Equal(t, http.StatusUnauthorized, code)
	code, _ = call(t, r, "GET", "/faults", "", "s3cret")
	assert.Equal(t, http.StatusOK, code)
	require.NoError(t, r.control.Add(t.Context(), faults.Spec{Name: "a", Kind: "stall"}), "the Go client sends its token")
}

func TestCheckControlAddr(t *testing.T) {
	for _, tc := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:9090", "", true},
		{"localhost:9090", "", true},
		{"[::1]:9090", "", true},
		{":9090", "", false},
		{"0.0.0.0:9090", "", false},
		{"10.1.2.3:9090", "", false},
		{"0.0.0.0:9090", "t", true},
		{"nonsense", "", false},
	} {
		err := CheckControlAddr(tc.addr, tc.token)
		assert.Equal(t, tc.ok, err == nil, "%s token %q: %v", tc.addr, tc.token, err)
	}
}

func TestParseUpstream(t *testing.T) {
	for _, tc := range []struct {
		raw, want string // want: "" to accept, else a part of the error
	}{
		{"http://127.0.0.1:8080", ""},
		{"https://svc.internal/base", ""},
		{"HTTP://127.0.0.1", ""},
		{"ftp://127.0.0.1:21/", "scheme ftp, want http or https"},
		{"127.0.0.1:8080", "not a URL"},
		{"localhost:8080", "scheme localhost, want http or https"},
		{"//127.0.0.1:8080", "scheme missing"},
		{"http://", "no host"},
		{"http://:8080", "no host"},
		{"http:127.0.0.1", "no host"},
		{"http://127.0.0.1:0", "port 0, want 1..65535"},
		{"http://127.0.0.1:99999", "port 99999, want 1..65535"},
	} {
		u, err := ParseUpstream(tc.raw)
		if tc.want == "" {
			assert.NoError(t, err, tc.raw)
			_, err = New(Config{Upstream: u})
			assert.NoError(t, err, "New takes what ParseUpstream does: %s", tc.raw)
			continue
		}
		assert.ErrorContains(t, err, tc.want, tc.raw)
		assert.ErrorContains(t, err, fmt.Sprintf("%q", tc.raw), "the error quotes the input")
	}
}

func TestNewRefusesAnUpstreamThatIsNotHTTP(t *testing.T) {
	for _, u := range []*url.URL{nil, {Scheme: "ftp", Host: "127.0.0.1:21"}, {Scheme: "http"}} {
		_, err := New(Config{Upstream: u})
		assert.ErrorContains(t, err, "proxy upstream", "%v", u)
	}
}
