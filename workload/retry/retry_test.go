package retry

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

const ms = time.Millisecond

func TestBackoffDelayTable(t *testing.T) {
	exp := Backoff{Kind: BackoffExponential, Base: 100 * ms, Max: time.Second, Multiplier: 2}
	tests := []struct {
		b    Backoff
		n    int
		want time.Duration
	}{
		{Backoff{}, 1, 0},
		{Backoff{Kind: BackoffConstant, Base: 50 * ms}, 1, 50 * ms},
		{Backoff{Kind: BackoffConstant, Base: 50 * ms}, 7, 50 * ms},
		{exp, 1, 100 * ms},
		{exp, 2, 200 * ms},
		{exp, 4, 800 * ms},
		{exp, 5, time.Second}, // 1.6 s capped
		{exp, 60, time.Second},
		{Backoff{Kind: BackoffExponential, Base: 10 * ms, Multiplier: 3}, 3, 90 * ms},
		{Backoff{Kind: BackoffExponential, Base: 10 * ms}, 3, 40 * ms}, // multiplier 0 means 2
	}
	for _, tt := range tests {
		if got := tt.b.Delay(tt.n); got != tt.want {
			t.Errorf("%+v.Delay(%d) = %v, want %v", tt.b, tt.n, got, tt.want)
		}
	}
}

func TestJitterApplyTable(t *testing.T) {
	bo := Backoff{Kind: BackoffExponential, Base: 100 * ms, Max: time.Second}
	tests := []struct {
		j       Jitter
		b, prev time.Duration
		u       float64
		want    time.Duration
	}{
		{JitterNone, 400 * ms, 0, 0.9, 400 * ms},
		{JitterFull, 400 * ms, 0, 0, 0},
		{JitterFull, 400 * ms, 0, 0.25, 100 * ms},
		{JitterFull, 400 * ms, 0, 0.5, 200 * ms},
		{JitterEqual, 400 * ms, 0, 0, 200 * ms},
		{JitterEqual, 400 * ms, 0, 0.5, 300 * ms},
		{JitterDecorrelated, 0, 0, 0, 100 * ms},              // U(base, 3·base) at u=0
		{JitterDecorrelated, 0, 0, 0.5, 200 * ms},            // 100 + 0.5·(300−100)
		{JitterDecorrelated, 0, 200 * ms, 0.5, 350 * ms},     // 100 + 0.5·(600−100)
		{JitterDecorrelated, 0, 900 * ms, 0.99, time.Second}, // capped
	}
	for _, tt := range tests {
		if got := tt.j.Apply(tt.b, tt.prev, bo, tt.u); got != tt.want {
			t.Errorf("%v.Apply(b=%v, prev=%v, u=%v) = %v, want %v", tt.j, tt.b, tt.prev, tt.u, got, tt.want)
		}
	}
}

func TestRetryDelayHonoursRetryAfterWithCap(t *testing.T) {
	p := Policy{Backoff: Backoff{Kind: BackoffConstant, Base: 100 * ms}, RetryAfter: true, RetryAfterCap: 5 * time.Second}
	tests := []struct {
		ra   time.Duration
		raOK bool
		want time.Duration
	}{
		{0, false, 100 * ms},
		{time.Second, true, time.Second},
		{50 * ms, true, 100 * ms}, // backoff already longer
		{time.Minute, true, 5 * time.Second},
	}
	for _, tt := range tests {
		if got := p.RetryDelay(1, 0, tt.ra, tt.raOK, 0); got != tt.want {
			t.Errorf("RetryDelay(ra=%v,%v) = %v, want %v", tt.ra, tt.raOK, got, tt.want)
		}
	}
	p.RetryAfter = false
	if got := p.RetryDelay(1, 0, time.Second, true, 0); got != 100*ms {
		t.Errorf("RetryDelay ignoring Retry-After = %v, want 100ms", got)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if d, ok := ParseRetryAfter("1", now); !ok || d != time.Second {
		t.Errorf("Retry-After: 1 = %v, %v", d, ok)
	}
	if d, ok := ParseRetryAfter(now.Add(3*time.Second).Format(http1123), now); !ok || d != 3*time.Second {
		t.Errorf("Retry-After date = %v, %v", d, ok)
	}
	for _, v := range []string{"", "-1", "soon"} {
		if _, ok := ParseRetryAfter(v, now); ok {
			t.Errorf("Retry-After %q accepted", v)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestRetryOn(t *testing.T) {
	r, err := ParseRetryOn("429,503,5xx,timeout")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		o      results.Outcome
		status int
		want   bool
	}{
		{results.OutcomeShed, 429, true},
		{results.OutcomeShed, 503, true},
		{results.OutcomeServerError, 500, true},
		{results.OutcomeClientError, 404, false},
		{results.OutcomeClientTimeout, 0, true},
		{results.OutcomeConnError, 0, false},
		{results.OutcomeOK, 200, false},
		{results.OutcomeCanceled, 0, false},
	}
	for _, tt := range tests {
		if got := r.Retryable(tt.o, tt.status); got != tt.want {
			t.Errorf("Retryable(%v, %d) = %v, want %v", tt.o, tt.status, got, tt.want)
		}
	}
	if got := r.String(); got != "429,5xx,timeout" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"600", "abc", "6xx", "", "429,"} {
		if _, err := ParseRetryOn(bad); err == nil {
			t.Errorf("ParseRetryOn(%q) accepted", bad)
		}
	}
}

// The gRPC bucket 10/0.1 with no successes: failures 1–4 may retry, the
// 5th stops retries.
func TestTokenBucketStopsAfterFiveConsecutiveFailures(t *testing.T) {
	b := NewTokenBucket(10, 0.1)
	now := time.Unix(0, 0)
	for i := 1; i <= 4; i++ {
		b.Failure(now)
		if _, ok := b.Retry(now, false); !ok {
			t.Fatalf("failure %d: retry refused with %v tokens", i, b.Tokens())
		}
	}
	b.Failure(now)
	if _, ok := b.Retry(now, false); ok {
		t.Fatalf("failure 5: retry allowed with %v tokens", b.Tokens())
	}
	// One success adds 0.1: 5.1 > 5, retries resume.
	b.Success(now, 0)
	if _, ok := b.Retry(now, false); !ok {
		t.Fatalf("after a success: retry refused with %v tokens", b.Tokens())
	}
	for range 100 {
		b.Failure(now)
	}
	if b.Tokens() != 0 {
		t.Fatalf("tokens %v, want floor 0", b.Tokens())
	}
}

func TestAWSQuotaAllowsExactlyOneHundredRetries(t *testing.T) {
	q := NewAWSQuota()
	now := time.Unix(0, 0)
	n := 0
	for {
		if _, ok := q.Retry(now, false); !ok {
			break
		}
		n++
	}
	if n != 100 {
		t.Fatalf("%d retries from a full quota, want 100", n)
	}
	// A success refunds the retry's cost; a first-attempt success adds 1.
	q.Success(now, AWSRetryCost)
	if q.Tokens() != 5 {
		t.Fatalf("tokens after refund %d, want 5", q.Tokens())
	}
	if spent, ok := q.Retry(now, true); ok {
		t.Fatalf("timeout retry (cost 10) allowed with 5 tokens, spent %d", spent)
	}
	q.Success(now, 0)
	if q.Tokens() != 6 {
		t.Fatalf("tokens %d, want 6", q.Tokens())
	}
	full := NewAWSQuota()
	full.Success(now, 0)
	if full.Tokens() != AWSQuotaMax {
		t.Fatalf("quota exceeded its max: %d", full.Tokens())
	}
	timeouts := 0
	for {
		if _, ok := full.Retry(now, true); !ok {
			break
		}
		timeouts++
	}
	if timeouts != 50 {
		t.Fatalf("%d timeout retries, want 50", timeouts)
	}
}

func TestRatioBudgetStepByStep(t *testing.T) {
	b := NewRatioBudget(0.1, 0, 10*time.Second)
	t0 := time.Unix(1000, 0)
	for range 100 {
		b.Request(t0)
	}
	n := 0
	for range 50 {
		if _, ok := b.Retry(t0, false); ok {
			n++
		}
	}
	if n != 10 {
		t.Fatalf("%d retries for 100 requests at 10%%, want 10", n)
	}
	// 11 s later the window is empty: nothing allowed without requests.
	later := t0.Add(11 * time.Second)
	if _, ok := b.Retry(later, false); ok {
		t.Fatal("retry allowed with an empty window")
	}
	// A minimum per second allows retries without traffic.
	m := NewRatioBudget(0.1, 1, 10*time.Second)
	allowed := 0
	for range 20 {
		if _, ok := m.Retry(t0, false); ok {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("%d retries from a 1/s reserve over 10 s, want 10", allowed)
	}
}

func TestParseBudget(t *testing.T) {
	good := map[string]BudgetSpec{
		"none":         {},
		"aws":          {Kind: BudgetAWS},
		"token:10,0.1": {Kind: BudgetToken, MaxTokens: 10, TokenRatio: 0.1},
		"ratio:0.1":    {Kind: BudgetRatio, Fraction: 0.1, Window: defaultRatioWindow},
		"ratio:0.2,5":  {Kind: BudgetRatio, Fraction: 0.2, MinPerSecond: 5, Window: defaultRatioWindow},
	}
	for s, want := range good {
		got, err := ParseBudget(s)
		if err != nil || got != want {
			t.Errorf("ParseBudget(%q) = %+v, %v; want %+v", s, got, err, want)
		}
		if got.String() != s {
			t.Errorf("String() = %q, want %q", got.String(), s)
		}
	}
	for _, s := range []string{"", "token", "token:10", "token:-1,0.1", "ratio:-0.1", "aws:1", "bucket:1", "ratio:x"} {
		_, err := ParseBudget(s)
		if err == nil || !strings.Contains(err.Error(), "valid:") {
			t.Errorf("ParseBudget(%q) = %v, want an error listing what is valid", s, err)
		}
	}
}

func TestThrottleProbability(t *testing.T) {
	th := NewThrottle(ThrottleSpec{K: 2, Window: time.Minute})
	now := time.Unix(5000, 0)
	if p := th.RejectProbability(now); p != 0 {
		t.Fatalf("fresh p = %v", p)
	}
	// 100 requests, 10 accepted: p = (100 − 20)/101.
	for i := range 100 {
		th.Allow(now, 1) // u = 1 never rejects, but counts
		if i < 10 {
			th.Accepted(now)
		}
	}
	if p, want := th.RejectProbability(now), 80.0/101; math.Abs(p-want) > 1e-12 {
		t.Fatalf("p = %v, want %v", p, want)
	}
	if th.Allow(now, 0.5) {
		t.Fatal("u = 0.5 < p allowed")
	}
	if !th.Allow(now, 0.9) {
		t.Fatal("u = 0.9 ≥ p rejected")
	}
	// All accepted: p = 0.
	ok := NewThrottle(ThrottleSpec{K: 2})
	for range 50 {
		ok.Allow(now, 1)
		ok.Accepted(now)
	}
	if p := ok.RejectProbability(now); p != 0 {
		t.Fatalf("p = %v with every request accepted", p)
	}
	var off *Throttle
	if !off.Allow(now, 0) {
		t.Fatal("nil throttle rejected")
	}
}

func TestParseThrottleAndHedge(t *testing.T) {
	if s, err := ParseThrottle("sre:2"); err != nil || s.K != 2 || s.String() != "sre:2" {
		t.Errorf("sre:2 = %+v, %v", s, err)
	}
	for _, bad := range []string{"sre:0.5", "sre:", "google"} {
		if _, err := ParseThrottle(bad); err == nil {
			t.Errorf("ParseThrottle(%q) accepted", bad)
		}
	}
	if h, err := ParseHedge("50ms"); err != nil || h.After != 50*ms || h.String() != "50ms" {
		t.Errorf("50ms = %+v, %v", h, err)
	}
	if h, err := ParseHedge("p95"); err != nil || h.Percentile != 95 || h.String() != "p95" {
		t.Errorf("p95 = %+v, %v", h, err)
	}
	for _, bad := range []string{"p100", "p0", "-1s", "soon"} {
		if _, err := ParseHedge(bad); err == nil {
			t.Errorf("ParseHedge(%q) accepted", bad)
		}
	}
}

func TestHedgerPercentileDelay(t *testing.T) {
	h := NewHedger(HedgeSpec{Percentile: 90})
	if _, ok := h.Delay(); ok {
		t.Fatal("delay known with no samples")
	}
	// Recomputed at the 20th sample, then every 64: 148 samples cycling
	// over 1..100 ms.
	for i := range 148 {
		h.Observe(time.Duration(i%100+1) * ms)
	}
	if d, ok := h.Delay(); !ok || d < 80*ms || d > 95*ms {
		t.Fatalf("p90 of 1..100 ms = %v, %v", d, ok)
	}
	now := time.Unix(0, 0)
	for range 10 {
		h.Request(now)
	}
	if !h.Allow(now) || h.Allow(now) {
		t.Fatal("hedge budget of 10% over 10 requests is not exactly 1")
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	bad := Default()
	bad.MaxAttempts = -1
	bad.Deadline = -time.Second
	err := bad.Validate()
	if err == nil || !strings.Contains(err.Error(), "max attempts") || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("Validate() = %v, want both problems named", err)
	}
}
