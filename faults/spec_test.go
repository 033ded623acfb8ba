package faults

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpecRoundTripsEveryKind(t *testing.T) {
	slow := &dist.Latency{Dist: "lognormal", P50: dist.Duration(time.Second), P99: dist.Duration(3 * time.Second)}
	entries := []Entry{
		{Name: "d", Target: "edge", At: time.Second, For: 2 * time.Second, Probability: 0.3, Scope: Scope{Route: "/api", Method: "GET", Header: "X-Tenant: hot"},
			Fault: Delay{Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond, Response: true}},
		{Name: "l", Target: "db", For: time.Second, Fault: Latency{Distribution: slow, Multiplier: 2}},
		{Name: "a", Target: "db", Probability: 0.5, Fault: Abort{Status: 503}},
		{Name: "r", Target: "db", Fault: Reset{}},
		{Name: "s", Target: "db", Fault: Stall{}},
		{Name: "t", Target: "edge", Fault: Timeout{}},
		{Name: "b", Target: "edge", Fault: Bandwidth{BytesPerSecond: 1 << 20}},
		{Name: "c", Target: "db", Fault: Capacity{Pool: 2}},
		{Name: "c2", Target: "target", Fault: Capacity{Concurrency: 4}},
		{Name: "u", Target: "load", At: 10 * time.Second, For: 10 * time.Second, Fault: Surge{Multiplier: 3}},
		{Name: "n", Target: "load", Fault: Burst{Requests: 500}},
		{Name: "p", Target: "load", Fault: Retry{Policy: "retry-3x"}},
	}
	covered := map[string]bool{}
	for _, e := range entries {
		s, err := SpecOf(e)
		require.NoError(t, err)
		data, err := json.Marshal(s)
		require.NoError(t, err)
		back, err := DecodeSpec(data)
		require.NoError(t, err, "%s", data)
		got, err := back.Entry()
		require.NoError(t, err, "%s", data)
		assert.Equal(t, e, got, "%s", data)
		covered[e.Fault.Kind()] = true
	}
	assert.Len(t, covered, len(Kinds()), "every kind is round-tripped")
}

func TestSpecTheProxyContractExample(t *testing.T) {
	s, err := DecodeSpec([]byte(`{"name":"slow","kind":"delay","delay":"100ms","jitter":"20ms","probability":0.3,"route":"/api/search"}`))
	require.NoError(t, err)
	e, err := ProxySpec(s)
	require.NoError(t, err)
	assert.Equal(t, Delay{Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}, e.Fault)
	assert.Equal(t, 0.3, e.Probability)
	assert.Equal(t, "/api/search", e.Scope.Route)
}

func TestSpecRefusesWithTheFieldNamed(t *testing.T) {
	for _, tc := range []struct {
		json, field string
	}{
		{`{"name":"x","target":"db","kind":"explode"}`, "kind"},
		{`{"name":"x","target":"db","kind":"delay","delay":"100ms","colour":"red"}`, "colour"},
		{`{"name":"x","target":"db","kind":"abort","status":"503"}`, "status"},
		{`{"name":"x","target":"db","kind":"abort","status":503,"delay":"1s"}`, "delay"},
		{`{"name":"x","target":"db","kind":"stall","for":"-1s"}`, "for"},
		{`{"name":"x","target":"db","kind":"abort","status":503,"probability":0}`, "probability"},
		{`{"name":"x","target":"db","kind":"abort","status":503,"probability":1.2}`, "probability"},
		{`{"name":"x","target":"db","kind":"bandwidth"}`, "bytes_per_second"},
	} {
		s, err := DecodeSpec([]byte(tc.json))
		if err == nil {
			_, err = s.entry()
		}
		assert.Equal(t, tc.field, fieldOf(t, err), tc.json)
	}
}

func TestSpecRefusesABadDuration(t *testing.T) {
	_, err := DecodeSpec([]byte(`{"name":"x","kind":"delay","delay":"soon"}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "soon")
}

func TestProxySpecRefusesTimelineFieldsAndDependencyKinds(t *testing.T) {
	for _, tc := range []struct {
		s     Spec
		field string
	}{
		{Spec{Name: "x", Kind: "stall", Target: "db"}, "target"},
		{Spec{Name: "x", Kind: "stall", For: dist.Duration(time.Second)}, "for"},
		{Spec{Name: "x", Kind: "capacity", Pool: 2}, "kind"},
		{Spec{Name: "x", Kind: "surge", Multiplier: 2}, "kind"},
		{Spec{Kind: "stall"}, "name"},
	} {
		_, err := ProxySpec(tc.s)
		assert.Equal(t, tc.field, fieldOf(t, err), "%+v", tc.s)
	}
}

// TestProxySpecRefusesNonsenseNamingTheFieldAndTheRange is the regression
// test of issue #19: the proxy accepted a delay of a million hours and a
// fault named "a/b" (a name that cannot be deleted by its URL).
func TestProxySpecRefusesNonsenseNamingTheFieldAndTheRange(t *testing.T) {
	for _, tc := range []struct {
		json, field, want string
	}{
		{`{"name":"x","kind":"delay","delay":"1000000h"}`, "delay", "1000000h0m0s, want ≤ 1h0m0s"},
		{`{"name":"x","kind":"delay","delay":"1s","jitter":"1h0m1s"}`, "jitter", "want ≤ 1h0m0s"},
		{`{"name":"x","kind":"bandwidth","bytes_per_second":1000000000000}`, "bytes_per_second", "want 1..10000000000"},
		{`{"name":"x","kind":"bandwidth","bytes_per_second":-1}`, "bytes_per_second", "want 1..10000000000"},
		{`{"name":"a/b","kind":"stall"}`, "name", "letters, digits"},
		{`{"name":"a b","kind":"stall"}`, "name", "letters, digits"},
		{`{"name":"..","kind":"stall"}`, "name", "starting with a letter or digit"},
		{`{"name":"-x","kind":"stall"}`, "name", "starting with a letter or digit"},
		{`{"name":"slöw","kind":"stall"}`, "name", "letters, digits"},
		{`{"name":"` + strings.Repeat("n", 65) + `","kind":"stall"}`, "name", "1 to 64"},
	} {
		s, err := DecodeSpec([]byte(tc.json))
		require.NoError(t, err, tc.json)
		_, err = ProxySpec(s)
		assert.Equal(t, tc.field, fieldOf(t, err), tc.json)
		assert.ErrorContains(t, err, tc.want, tc.json)
	}
}

func TestProxySpecAcceptsTheEdgesOfTheRanges(t *testing.T) {
	for _, js := range []string{
		`{"name":"x","kind":"delay","delay":"1h","jitter":"1h"}`,
		`{"name":"x","kind":"delay","delay":"1ns"}`,
		`{"name":"x","kind":"bandwidth","bytes_per_second":1}`,
		`{"name":"x","kind":"bandwidth","bytes_per_second":10000000000}`,
		`{"name":"Slow-db_2.v1","kind":"stall"}`,
		`{"name":"` + strings.Repeat("n", 64) + `","kind":"stall"}`,
		`{"name":"x","kind":"abort","status":503,"probability":1e-9}`,
	} {
		s, err := DecodeSpec([]byte(js))
		require.NoError(t, err, js)
		_, err = ProxySpec(s)
		assert.NoError(t, err, js)
	}
}

func TestEntryValidateRefusesANaNProbability(t *testing.T) {
	e := Entry{Name: "x", Target: "db", Probability: math.NaN(), Fault: Stall{}}
	assert.Equal(t, "probability", fieldOf(t, e.Validate()))
}

func TestProxySpecNamesEachWrongFieldOnce(t *testing.T) {
	s, err := DecodeSpec([]byte(`{"name":"a/b","kind":"delay","delay":"1000000h","probability":2}`))
	require.NoError(t, err)
	_, err = ProxySpec(s)
	require.Error(t, err)
	for _, field := range []string{"name: ", "delay: ", "probability: "} {
		assert.Equal(t, 1, strings.Count(err.Error(), field), "%s in %q", field, err)
	}
}

// TestSpecEntryConvertsWithoutValidating: conversion refuses only what an
// Entry cannot hold; values out of range are left to the one validation.
func TestSpecEntryConvertsWithoutValidating(t *testing.T) {
	s, err := DecodeSpec([]byte(`{"name":"x","target":"db","kind":"stall","for":"-1s"}`))
	require.NoError(t, err)
	e, err := s.Entry()
	require.NoError(t, err, "a negative window is a value for Validate to refuse")
	assert.Equal(t, -time.Second, e.For)
	assert.Equal(t, "for", fieldOf(t, e.Validate()))

	p := 0.0
	e, err = Spec{Name: "x", Target: "db", Kind: "delay", Probability: &p}.Entry()
	assert.Equal(t, "probability", fieldOf(t, err), "an Entry reads 0 as 1: an explicit 0 cannot convert")
	assert.Equal(t, Delay{}, e.Fault, "the rest converts, for Validate to name its fields too")
	assert.Equal(t, "delay", fieldOf(t, e.Validate()))
}
