package workload

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

func TestPlaceholdersExpand(t *testing.T) {
	tx, err := compileText(`/items/{seq}?n={rand:5-5}&t={tenant}&j={"a":1}`)
	if err != nil {
		t.Fatal(err)
	}
	got := string(tx.appendTo(nil, 42, "t3", rand.New(rand.NewPCG(1, 1))))
	if want := `/items/42?n=5&t=t3&j={"a":1}`; got != want {
		t.Fatalf("expanded %q, want %q", got, want)
	}
	if _, err := compileText("{rand:9-1}"); err == nil {
		t.Fatal("{rand:9-1} accepted")
	}
	st, _ := compileText("/static")
	if !st.static || st.value() != "/static" {
		t.Fatalf("static text %+v", st)
	}
}

func TestMixWeightsAndZipfTenants(t *testing.T) {
	m, err := newMix([]Template{{URL: "http://h/a", Weight: 3}, {URL: "http://h/b", Weight: 1}}, "", Tenants{Count: 100, Zipf: 1.2}, OrderWeighted, nil, Shard{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var a int
	tenants := map[string]int{}
	for range 40000 {
		if m.pickTemplate(rng) == 0 {
			a++
		}
		tenants[m.pickTenant(rng)]++
	}
	if a < 29000 || a > 31000 {
		t.Fatalf("template a picked %d of 40000, want ≈ 30000", a)
	}
	// Zipf 1.2 over 100: tenant 0 has 1/H ≈ 25% of the mass, tenant 1 2^-1.2 of it.
	if tenants["t0"] < 8000 || tenants["t0"] < 2*tenants["t1"] || tenants["t99"] > tenants["t0"]/50 {
		t.Fatalf("zipf tenants t0 %d t1 %d t99 %d", tenants["t0"], tenants["t1"], tenants["t99"])
	}
	if _, err := ParseTenantDist("zipf:0"); err == nil {
		t.Fatal("zipf:0 accepted")
	}
	if s, err := ParseTenantDist("zipf:1.1"); err != nil || s != 1.1 {
		t.Fatalf("zipf:1.1 = %v, %v", s, err)
	}
}

func TestMixRejectsBadTemplates(t *testing.T) {
	for _, tt := range []Template{{URL: "/relative"}, {URL: "ftp://h/"}, {URL: "http://h/", Weight: -1}, {URL: "http://h/{rand:x-y}"}} {
		if _, err := newMix([]Template{tt}, "", Tenants{}, OrderWeighted, nil, Shard{}); err == nil {
			t.Errorf("template %+v accepted", tt)
		}
	}
}

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	tests := []struct {
		err      error
		canceled bool
		want     results.Outcome
	}{
		{nil, false, results.OutcomeOK},
		{fmt.Errorf("get: %w", context.DeadlineExceeded), false, results.OutcomeClientTimeout},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), false, results.OutcomeClientTimeout},
		{fmt.Errorf("get: %w", context.Canceled), true, results.OutcomeCanceled},
		{fmt.Errorf("get: %w", refused), false, results.OutcomeConnError},
		{reset, false, results.OutcomeConnError},
		{io.ErrUnexpectedEOF, false, results.OutcomeConnError},
		{fmt.Errorf("x: %w", io.EOF), false, results.OutcomeConnError},
		{errors.New("weird"), false, results.OutcomeConnError},
		{errors.New("weird"), true, results.OutcomeCanceled},
	}
	for _, tt := range tests {
		if got := Classify(tt.err, tt.canceled); got != tt.want {
			t.Errorf("Classify(%v, %v) = %v, want %v", tt.err, tt.canceled, got, tt.want)
		}
	}
}

func TestStatusOutcome(t *testing.T) {
	for status, want := range map[int]results.Outcome{200: results.OutcomeOK, 302: results.OutcomeOK, 404: results.OutcomeClientError, 429: results.OutcomeShed, 503: results.OutcomeShed, 500: results.OutcomeServerError, 504: results.OutcomeServerError} {
		if got := StatusOutcome(status); got != want {
			t.Errorf("StatusOutcome(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestParseServerTiming(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		in   string
		want results.ServerTiming
	}{
		{"", results.ServerTiming{}},
		{"queue;dur=1.5, app;dur=3, db;dur=4", results.ServerTiming{Queue: ms(1.5), App: ms(3), Dep: ms(4)}},
		{`app;desc="x";dur=2,cache;dur=1,db;dur=0.5`, results.ServerTiming{App: ms(2), Dep: ms(1.5)}},
		{"miss, app;dur=bad, queue;dur=-1, app;dur=7", results.ServerTiming{App: ms(7)}},
		{"init;dur=250, app;dur=100", results.ServerTiming{Init: ms(250), App: ms(100)}},
		{"INIT;dur=1,init;dur=2", results.ServerTiming{Init: ms(3)}},
	}
	for _, tt := range tests {
		if got := ParseServerTiming(tt.in); got != tt.want {
			t.Errorf("ParseServerTiming(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestThrottleReason(t *testing.T) {
	long := strings.Repeat("r", 100)
	for in, want := range map[string]string{
		"": "", " account ": "account", "api": "api", "reserved": "reserved", "scaling": "scaling",
		"Rate Exceeded": "Rate Exceeded", long: long[:results.MaxThrottleLen],
	} {
		if got := ThrottleReason(in); got != want {
			t.Errorf("ThrottleReason(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = ThrottleReason("scaling") }); n != 0 {
		t.Errorf("ThrottleReason of a known reason: %v allocations, want 0", n)
	}
}

func BenchmarkParseServerTiming(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ParseServerTiming("queue;dur=1.5, app;dur=3, db;dur=4")
	}
}

func TestIdempotentByMethodOrIdempotencyKey(t *testing.T) {
	key := []compiledHeader{{name: "Content-Type"}, {name: "Idempotency-Key"}}
	for _, tc := range []struct {
		method string
		header []compiledHeader
		want   bool
	}{
		{"GET", nil, true},
		{"HEAD", nil, true},
		{"OPTIONS", nil, true},
		{"TRACE", nil, true},
		{"PUT", nil, true},
		{"DELETE", nil, true},
		{"POST", nil, false},
		{"PATCH", nil, false},
		{"get", nil, false}, // methods are case-sensitive
		{"POST", []compiledHeader{{name: "Content-Type"}}, false},
		{"POST", key, true},
		{"PATCH", []compiledHeader{{name: "X-Idempotency-Key"}}, true},
	} {
		if got := idempotent(tc.method, tc.header); got != tc.want {
			t.Errorf("idempotent(%s, %v) = %v, want %v", tc.method, tc.header, got, tc.want)
		}
	}
}
