package faults

import (
	"math"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMatcher(t *testing.T) {
	req := httptest.NewRequest("GET", "/api/search?q=x", nil)
	req.Header.Set("X-Tenant", "hot")
	for _, tc := range []struct {
		scope Scope
		want  bool
	}{
		{Scope{}, true},
		{Scope{Route: "/api/search"}, true},
		{Scope{Route: "/api/items"}, false},
		{Scope{Method: "GET"}, true},
		{Scope{Method: "POST"}, false},
		{Scope{Header: "X-Tenant: hot"}, true},
		{Scope{Header: "x-tenant:hot"}, true},
		{Scope{Header: "X-Tenant: cold"}, false},
		{Scope{Header: "X-Tenant"}, true},
		{Scope{Header: "X-Priority"}, false},
		{Scope{Route: "/api", Method: "GET", Header: "X-Tenant: hot"}, true},
		{Scope{Route: "/api", Method: "GET", Header: "X-Tenant: cold"}, false},
	} {
		m := tc.scope.Matcher()
		assert.Equal(t, tc.want, m.Match(req), "%+v", tc.scope)
	}
}

func TestScopeValidate(t *testing.T) {
	assert.NoError(t, Scope{Route: "/api", Header: "X-Tenant: a"}.Validate())
	assert.Equal(t, "route", fieldOf(t, Scope{Route: "api"}.Validate()))
	assert.Equal(t, "header", fieldOf(t, Scope{Header: ": x"}.Validate()))
}

func TestEntryValidateNamesTheField(t *testing.T) {
	good := Entry{Name: "a", Target: "db", Fault: Stall{}}
	assert.NoError(t, good.Validate())
	for _, tc := range []struct {
		change    func(*Entry)
		wantField string
	}{
		{func(e *Entry) { e.Name = "" }, "name"},
		{func(e *Entry) { e.Target = "" }, "target"},
		{func(e *Entry) { e.At = -1 }, "at"},
		{func(e *Entry) { e.For = -1 }, "for"},
		{func(e *Entry) { e.At, e.For = math.MaxInt64/2+1, math.MaxInt64/2+1 }, "for"},
		{func(e *Entry) { e.Probability = 1.5 }, "probability"},
		{func(e *Entry) { e.Probability = -0.1 }, "probability"},
		{func(e *Entry) { e.Scope.Route = "x" }, "route"},
		{func(e *Entry) { e.Fault = nil }, "kind"},
		{func(e *Entry) { e.Fault = Abort{Status: 200} }, "status"},
	} {
		e := good
		tc.change(&e)
		assert.Equal(t, tc.wantField, fieldOf(t, e.Validate()))
	}
}
