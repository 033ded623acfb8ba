package retry

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// BudgetKind selects a retry budget.
type BudgetKind uint8

// Budget kinds.
const (
	BudgetNone  BudgetKind = iota // every wanted retry goes
	BudgetToken                   // gRPC retry throttling token bucket
	BudgetAWS                     // AWS SDK standard retry quota
	BudgetRatio                   // retries ≤ a fraction of requests over a sliding window
)

// BudgetSpec describes a retry budget. The zero value is no budget. It is a
// value, safe to copy and share; New builds the mutable budget.
type BudgetSpec struct {
	Kind BudgetKind
	// MaxTokens (≥ 1) and TokenRatio (> 0) configure BudgetToken (gRPC:
	// maxTokens, tokenRatio).
	MaxTokens  float64
	TokenRatio float64
	// Fraction (in [0, 1]), MinPerSecond and Window configure
	// BudgetRatio: retries ≤ Fraction·requests + MinPerSecond·Window over
	// the last Window (default 10 s).
	Fraction     float64
	MinPerSecond float64
	Window       time.Duration
}

// AWS SDK standard retry quota constants.
const (
	AWSQuotaMax        = 500 // tokens in a full bucket
	AWSRetryCost       = 5   // tokens a retry costs
	AWSTimeoutCost     = 10  // tokens a retry after a timeout costs
	AWSNoRetryRefill   = 1   // tokens a success without a retry adds
	defaultRatioWindow = 10 * time.Second
)

// budgetSyntax is the grammar of ParseBudget.
const budgetSyntax = "none, token:MAX,RATIO (e.g. token:10,0.1), aws or ratio:FRACTION[,MINPERSEC] (e.g. ratio:0.1 or ratio:0.1,5)"

// ParseBudget parses none, token:MAX,RATIO, aws, or
// ratio:FRACTION[,MINPERSEC], the syntax of the --retry-budget flag and of
// a profile's client.retry_budget. Its errors are *SyntaxError.
func ParseBudget(s string) (BudgetSpec, error) {
	kind, args, _ := strings.Cut(s, ":")
	bad := func(why string) (BudgetSpec, error) {
		return BudgetSpec{}, &SyntaxError{What: "retry budget", Text: s, Why: why, Valid: budgetSyntax}
	}
	nums := func(min, max int) ([]float64, bool) {
		parts := strings.Split(args, ",")
		if args == "" || len(parts) < min || len(parts) > max {
			return nil, false
		}
		out := make([]float64, len(parts))
		for i, p := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, false
			}
			out[i] = v
		}
		return out, true
	}
	var spec BudgetSpec
	switch kind {
	case "none":
		if args != "" {
			return bad("none takes no arguments")
		}
	case "aws":
		if args != "" {
			return bad("aws takes no arguments")
		}
		spec.Kind = BudgetAWS
	case "token":
		v, ok := nums(2, 2)
		if !ok {
			return bad("token needs MAX,RATIO")
		}
		spec = BudgetSpec{Kind: BudgetToken, MaxTokens: v[0], TokenRatio: v[1]}
	case "ratio":
		v, ok := nums(1, 2)
		if !ok {
			return bad("ratio needs FRACTION[,MINPERSEC]")
		}
		spec = BudgetSpec{Kind: BudgetRatio, Fraction: v[0], Window: defaultRatioWindow}
		if len(v) == 2 {
			spec.MinPerSecond = v[1]
		}
	case "":
		return bad("empty")
	default:
		return bad("unknown kind " + strconv.Quote(kind))
	}
	if err := spec.Validate(); err != nil {
		return bad(err.Error())
	}
	return spec, nil
}

// String returns the flag spelling of s.
func (s BudgetSpec) String() string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	switch s.Kind {
	case BudgetToken:
		return "token:" + f(s.MaxTokens) + "," + f(s.TokenRatio)
	case BudgetAWS:
		return "aws"
	case BudgetRatio:
		if s.MinPerSecond != 0 {
			return "ratio:" + f(s.Fraction) + "," + f(s.MinPerSecond)
		}
		return "ratio:" + f(s.Fraction)
	}
	return "none"
}

// Validate reports what is wrong with s.
func (s BudgetSpec) Validate() error {
	switch s.Kind {
	case BudgetNone, BudgetAWS:
	case BudgetToken:
		if !(s.MaxTokens >= 1) || !(s.TokenRatio > 0) {
			return fmt.Errorf("token bucket max %v, ratio %v: max must be ≥ 1, ratio > 0", s.MaxTokens, s.TokenRatio)
		}
	case BudgetRatio:
		if !(s.Fraction >= 0 && s.Fraction <= 1) || !(s.MinPerSecond >= 0) || s.Window < 0 {
			return fmt.Errorf("ratio budget fraction %v, min %v/s, window %v: fraction must be in [0, 1], min and window ≥ 0", s.Fraction, s.MinPerSecond, s.Window)
		}
	default:
		return fmt.Errorf("budget kind %d: unknown", s.Kind)
	}
	return nil
}

// Budget decides whether a failed request may retry. Every implementation
// is safe for concurrent use by all the requests of one client.
//
// The caller notes each new request (Request), each attempt's result
// (Success or Failure, the latter only for outcomes the policy retries) and
// asks Retry before each retry; Retry's spent value is handed back to
// Success when the retried request later succeeds (the AWS quota refunds it).
type Budget interface {
	Request(now time.Time)
	Success(now time.Time, spent int)
	Failure(now time.Time)
	Retry(now time.Time, timeout bool) (spent int, ok bool)
}

// New returns a fresh budget for s (full bucket, empty window).
func (s BudgetSpec) New() Budget {
	switch s.Kind {
	case BudgetToken:
		return NewTokenBucket(s.MaxTokens, s.TokenRatio)
	case BudgetAWS:
		return NewAWSQuota()
	case BudgetRatio:
		return NewRatioBudget(s.Fraction, s.MinPerSecond, s.Window)
	}
	return unlimited{}
}

// unlimited is no budget: every retry goes.
type unlimited struct{}

var _ Budget = unlimited{}

func (unlimited) Request(time.Time)                 {}
func (unlimited) Success(time.Time, int)            {}
func (unlimited) Failure(time.Time)                 {}
func (unlimited) Retry(time.Time, bool) (int, bool) { return 0, true }

// TokenBucket is gRPC's retry throttling: the bucket starts full at max
// tokens; each failed attempt takes 1 token (down to 0), each success adds
// ratio (up to max); retries go only while tokens > max/2.
//
// With max 10 and ratio 0.1 and no successes, failures 1–4 leave 9…6 tokens
// and may retry; the 5th leaves 5 and stops retrying.
// Safe for concurrent use; build with NewTokenBucket.
type TokenBucket struct {
	mu     sync.Mutex
	max    float64
	ratio  float64
	tokens float64
}

var _ Budget = (*TokenBucket)(nil)

// NewTokenBucket returns a full bucket.
func NewTokenBucket(max, ratio float64) *TokenBucket {
	return &TokenBucket{max: max, ratio: ratio, tokens: max}
}

// Request does nothing: the bucket counts attempts, not requests.
func (b *TokenBucket) Request(time.Time) {}

// Success adds ratio tokens, up to max.
func (b *TokenBucket) Success(time.Time, int) {
	b.mu.Lock()
	b.tokens = math.Min(b.max, b.tokens+b.ratio)
	b.mu.Unlock()
}

// Failure takes one token, down to 0.
func (b *TokenBucket) Failure(time.Time) {
	b.mu.Lock()
	b.tokens = math.Max(0, b.tokens-1)
	b.mu.Unlock()
}

// Retry allows a retry while tokens > max/2; it spends nothing more.
func (b *TokenBucket) Retry(time.Time, bool) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return 0, b.tokens > b.max/2
}

// Tokens returns the tokens in the bucket.
func (b *TokenBucket) Tokens() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tokens
}

// AWSQuota is the AWS SDKs' standard retry quota: a bucket of 500 tokens; a
// retry costs 5 (10 when it follows a timeout) and is refused when the
// bucket holds less; a successful attempt refunds what its retry cost, or
// adds 1 when it was a first attempt; never above 500. From a full bucket
// with no successes exactly 100 retries go.
// Safe for concurrent use; build with NewAWSQuota.
type AWSQuota struct {
	mu     sync.Mutex
	tokens int
}

var _ Budget = (*AWSQuota)(nil)

// NewAWSQuota returns a full quota.
func NewAWSQuota() *AWSQuota { return &AWSQuota{tokens: AWSQuotaMax} }

// Request does nothing.
func (q *AWSQuota) Request(time.Time) {}

// Failure does nothing: the quota charges retries, not failures.
func (q *AWSQuota) Failure(time.Time) {}

// Success refunds spent, or adds 1 when spent is 0, up to 500.
func (q *AWSQuota) Success(_ time.Time, spent int) {
	if spent == 0 {
		spent = AWSNoRetryRefill
	}
	q.mu.Lock()
	q.tokens = min(AWSQuotaMax, q.tokens+spent)
	q.mu.Unlock()
}

// Retry takes 5 tokens (10 after a timeout) if the quota holds them.
func (q *AWSQuota) Retry(_ time.Time, timeout bool) (int, bool) {
	cost := AWSRetryCost
	if timeout {
		cost = AWSTimeoutCost
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.tokens < cost {
		return 0, false
	}
	q.tokens -= cost
	return cost, true
}

// Tokens returns the tokens left.
func (q *AWSQuota) Tokens() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.tokens
}

// RatioBudget allows retries while, over the sliding window ending now,
// retries + 1 ≤ fraction·requests + minPerSecond·window (in the style of
// Finagle's retry budget). Safe for concurrent use; build with
// NewRatioBudget.
type RatioBudget struct {
	mu       sync.Mutex
	fraction float64
	reserve  float64 // minPerSecond·window
	counts   slidingCounts
}

var _ Budget = (*RatioBudget)(nil)

// NewRatioBudget returns an empty budget; window ≤ 0 means 10 s.
func NewRatioBudget(fraction, minPerSecond float64, window time.Duration) *RatioBudget {
	if window <= 0 {
		window = defaultRatioWindow
	}
	return &RatioBudget{fraction: fraction, reserve: minPerSecond * window.Seconds(), counts: newSlidingCounts(window)}
}

// Request counts a request.
func (r *RatioBudget) Request(now time.Time) {
	r.mu.Lock()
	r.counts.add(now, 0, 1)
	r.mu.Unlock()
}

// Success does nothing.
func (r *RatioBudget) Success(time.Time, int) {}

// Failure does nothing.
func (r *RatioBudget) Failure(time.Time) {}

// Retry allows and counts a retry if it fits the budget.
func (r *RatioBudget) Retry(now time.Time, _ bool) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	reqs, retries := r.counts.sums(now)
	if retries+1 > r.fraction*reqs+r.reserve {
		return 0, false
	}
	r.counts.add(now, 1, 1)
	return 0, true
}
