package profiles

import (
	"testing"
	"time"
)

func TestSize(t *testing.T) {
	cases := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"512", 512, true}, {"64KiB", 64 << 10, true}, {"1MiB", 1 << 20, true}, {"2GiB", 2 << 30, true},
		{"64KB", 64000, true}, {"1MB", 1e6, true}, {"10B", 10, true}, {"1 KiB", 1024, true},
		{"64kb", 0, false}, {"-1", 0, false}, {"1.5KiB", 0, false}, {"", 0, false}, {"99999999999GiB", 0, false},
	}
	for _, c := range cases {
		var s Size
		err := s.parse(c.in, tagStr)
		if (err == nil) != c.ok || (c.ok && s != c.want) {
			t.Errorf("Size(%q) = %d, %v; want %d, ok=%v", c.in, s, err, c.want, c.ok)
		}
	}
	if got := Size(64 << 10).String(); got != "64KiB" {
		t.Errorf("String = %q", got)
	}
	if got := Size(1000).String(); got != "1000" {
		t.Errorf("String = %q", got)
	}
}

func TestRate(t *testing.T) {
	cases := []struct {
		in   string
		want Rate
		ok   bool
	}{
		{"200", 200, true}, {"200/s", 200, true}, {"12000/min", 200, true}, {"60/m", 1, true}, {"0.5", 0.5, true},
		{"-1", 0, false}, {"fast", 0, false}, {"200/h", 0, false}, {"NaN", 0, false}, {"Inf", 0, false},
	}
	for _, c := range cases {
		var r Rate
		err := r.parse(c.in, tagStr)
		if (err == nil) != c.ok || (c.ok && r != c.want) {
			t.Errorf("Rate(%q) = %v, %v; want %v, ok=%v", c.in, r, err, c.want, c.ok)
		}
	}
}

func TestBudgetThrottleHedgeDistribution(t *testing.T) {
	cases := []struct {
		v interface {
			scalar
			String() string
		}
		in, want string // want "" means refused
	}{
		{&Budget{}, "none", "none"}, {&Budget{}, "aws", "aws"}, {&Budget{}, "token:10,0.1", "token:10,0.1"},
		{&Budget{}, "ratio:0.1", "ratio:0.1"}, {&Budget{}, "ratio:2", ""}, {&Budget{}, "token:10", ""}, {&Budget{}, "token:0.5,0.1", ""},
		{&Throttle{}, "none", "none"}, {&Throttle{}, "sre:2", "sre:2"}, {&Throttle{}, "sre:0.5", ""}, {&Throttle{}, "sre", ""},
		{&Hedge{}, "100ms", "100ms"}, {&Hedge{}, "p95", "p95"}, {&Hedge{}, "p99.9", "p99.9"}, {&Hedge{}, "p100", ""}, {&Hedge{}, "-1s", ""},
		{&Distribution{}, "uniform", "uniform"}, {&Distribution{}, "zipf:1.1", "zipf:1.1"}, {&Distribution{}, "zipf:1", ""}, {&Distribution{}, "zipf", ""},
	}
	for _, c := range cases {
		err := c.v.parse(c.in, tagStr)
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%T(%q) accepted as %s", c.v, c.in, c.v.String())
		case c.want != "" && err != nil:
			t.Errorf("%T(%q): %v", c.v, c.in, err)
		case c.want != "" && c.v.String() != c.want:
			t.Errorf("%T(%q).String() = %q, want %q", c.v, c.in, c.v.String(), c.want)
		}
	}
	var h Hedge
	if err := h.parse("250ms", tagStr); err != nil || h.After != 250*time.Millisecond {
		t.Errorf("Hedge(250ms) = %+v, %v", h, err)
	}
}

func TestAssertion(t *testing.T) {
	cases := []struct {
		in                                string
		variant, phase, metric, op, value string
		ok                                bool
	}{
		{"p99 < 250ms", "", "", "p99", "<", "250ms", true},
		{"phase(surge).shed_ratio<0.5", "", "surge", "shed_ratio", "<", "0.5", true},
		{"variant(protected).recovery_time <= 15s", "protected", "", "recovery_time", "<=", "15s", true},
		{"variant(a).phase(b).goodput_ratio >= 0.99", "a", "b", "goodput_ratio", ">=", "0.99", true},
		{"metastable == false", "", "", "metastable", "==", "false", true},
		{"p99 << 1s", "", "", "", "", "", false},
		{"p99 <", "", "", "", "", "", false},
		{"phase(a b).p99 < 1s", "", "", "", "", "", false},
	}
	for _, c := range cases {
		var a Assertion
		err := a.parse(c.in, tagStr)
		if (err == nil) != c.ok {
			t.Errorf("Assertion(%q): err = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && (a.Variant != c.variant || a.Phase != c.phase || a.Metric != c.metric || a.Op != c.op || a.Value != c.value) {
			t.Errorf("Assertion(%q) = %+v", c.in, a)
		}
	}
	a := Assertion{Variant: "v", Phase: "surge", Metric: "p99", Op: "<", Value: "1s"}
	if got := a.Expr(); got != "phase(surge).p99 < 1s" {
		t.Errorf("Expr = %q", got)
	}
	var r Assertion
	if err := r.parse(`variant(v).route("GET /a?x=(1)").p99 < 300ms`, tagStr); err != nil || r.Route != `"GET /a?x=(1)"` || r.Metric != "p99" {
		t.Errorf("a quoted route: %+v, %v", r, err)
	}
	if got := r.Expr(); got != `route("GET /a?x=(1)").p99 < 300ms` {
		t.Errorf("Expr = %q", got)
	}
	if err := r.parse(`route(checkout).requests > 10`, tagStr); err != nil || r.Route != "checkout" {
		t.Errorf("a plain-word route: %+v, %v", r, err)
	}
}

func TestSuggest(t *testing.T) {
	valid := []string{"duration", "rate", "from", "to", "steps", "name"}
	cases := map[string]string{"duraton": "duration", "rat": "rate", "Rate": "rate", "stps": "steps", "zzzzzz": "", "x": ""}
	for in, want := range cases {
		if got := suggest(in, valid); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
