package shed

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/goodput-dev/goodput/internal/waitlist"
)

// DefaultTenantHeader names the tenant of a request.
const DefaultTenantHeader = "X-Tenant"

// maxRetryAfter caps the Retry-After (seconds) of a TenantLimit: a tenant far
// over its rate is told to come back within a minute and told again then.
const maxRetryAfter = 60

// TenantLimitConfig configures a [TenantLimit]. It is a value; [NewTenantLimit]
// validates it and keeps a copy. The zero value is invalid (Rate > 0).
type TenantLimitConfig struct {
	// Rate is each tenant's sustained rate, in requests per second (> 0).
	Rate float64
	// Burst is each tenant's bucket size (≥ 1).
	Burst int
	// MaxTenants bounds the tenants tracked (≥ 1); see [TenantLimit].
	MaxTenants int
	// Header names the tenant; "" means DefaultTenantHeader (X-Tenant).
	// Requests without it share the tenant "".
	Header string
	// Observer hears every refusal (of AllowAt, hence of Middleware) as
	// Rejected(ReasonTenantThrottle);
	// Admitted is never called (the Shedder behind reports admissions).
	// nil means none.
	Observer Observer
}

// Validate reports the first field out of range.
func (c TenantLimitConfig) Validate() error {
	switch {
	case !(c.Rate > 0) || math.IsInf(c.Rate, 0):
		return fmt.Errorf("throttle: rate: %v, want > 0 requests per second", c.Rate)
	case c.Burst < 1:
		return fmt.Errorf("throttle: burst: %d, want ≥ 1", c.Burst)
	case c.MaxTenants < 1:
		return fmt.Errorf("throttle: max_tenants: %d, want ≥ 1", c.MaxTenants)
	}
	return nil
}

// TenantLimit is a token bucket per tenant (golang.org/x/time/rate): each
// tenant may send Rate requests per second with bursts of Burst; above that
// it gets 429 Too Many Requests with a Retry-After saying when its next
// token is due, like API Gateway's per-API throttling.
//
// At most MaxTenants tenants are tracked. A new tenant takes the place of
// the least recently seen one if that one has been idle long enough for its
// bucket to refill (Burst / Rate), so evicting it forgives nothing. If it
// has not, the newcomer draws from one shared overflow bucket (same Rate and
// Burst) until room frees up: memory stays bounded and a flood of new tenant
// names cannot reset anyone's bucket.
//
// Safe for concurrent use. Create it with [NewTenantLimit]; the zero value is
// not usable.
type TenantLimit struct {
	cfg       TenantLimitConfig
	obs       Observer
	refill    time.Duration // time for an empty bucket to fill
	retry     [maxRetryAfter + 1][]string
	reasonHdr []string

	mu       sync.Mutex
	tenants  map[string]*tenant
	recency  waitlist.List[*tenant] // the least recently seen at the front
	overflow *rate.Limiter
}

// tenant is one tracked tenant and its node in the recency list.
type tenant struct {
	waitlist.Elem[*tenant]
	name string
	lim  *rate.Limiter
	last time.Time
}

// NewTenantLimit returns a TenantLimit for cfg.
func NewTenantLimit(cfg TenantLimitConfig) (*TenantLimit, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Header == "" {
		cfg.Header = DefaultTenantHeader
	}
	cfg.Header = http.CanonicalHeaderKey(cfg.Header)
	t := &TenantLimit{
		cfg:       cfg,
		obs:       cfg.Observer,
		refill:    time.Duration(float64(cfg.Burst) / cfg.Rate * float64(time.Second)),
		reasonHdr: headerValue(ReasonTenantThrottle.String()),
		tenants:   make(map[string]*tenant, cfg.MaxTenants),
		overflow:  rate.NewLimiter(rate.Limit(cfg.Rate), cfg.Burst),
	}
	if t.obs == nil {
		t.obs = nopObserver{}
	}
	for i := 1; i <= maxRetryAfter; i++ {
		t.retry[i] = headerValue(strconv.Itoa(i))
	}
	return t, nil
}

// Tenants returns the number of tenants tracked.
func (t *TenantLimit) Tenants() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tenants)
}

// Allow reports whether tenant may send a request now; see
// [TenantLimit.AllowAt].
func (t *TenantLimit) Allow(tenant string) (ok bool, retryAfter time.Duration) {
	return t.AllowAt(time.Now(), tenant)
}

// AllowAt reports whether tenant may send a request at now, taking a token
// if so. When it may not, retryAfter is how long until its next token.
func (t *TenantLimit) AllowAt(now time.Time, name string) (ok bool, retryAfter time.Duration) {
	t.mu.Lock()
	lim := t.lookup(now, name)
	t.mu.Unlock()
	if lim.AllowN(now, 1) {
		return true, 0
	}
	t.obs.Rejected(ReasonTenantThrottle)
	need := 1 - lim.TokensAt(now)
	return false, time.Duration(need / t.cfg.Rate * float64(time.Second))
}

// lookup returns the bucket of name at now, with the lock held.
func (t *TenantLimit) lookup(now time.Time, name string) *rate.Limiter {
	if tn, ok := t.tenants[name]; ok {
		tn.last = now
		t.recency.Remove(&tn.Elem)
		t.recency.PushBack(&tn.Elem)
		return tn.lim
	}
	if len(t.tenants) >= t.cfg.MaxTenants {
		old := t.recency.Front().Value
		if now.Sub(old.last) < t.refill {
			return t.overflow
		}
		t.recency.Remove(&old.Elem)
		delete(t.tenants, old.name)
	}
	tn := &tenant{
		name: strings.Clone(name),
		lim:  rate.NewLimiter(rate.Limit(t.cfg.Rate), t.cfg.Burst),
		last: now,
	}
	tn.Value = tn
	t.tenants[tn.name] = tn
	t.recency.PushBack(&tn.Elem)
	return tn.lim
}

// Middleware returns next behind the throttle: a request whose tenant
// (the tenant header) is over its rate gets 429 with Retry-After (the time
// to its next token in whole seconds, rounded up, at most 60) and
// X-Shed-Reason: tenant_throttle, before its body is read. The refusal
// allocates nothing for a tenant already tracked.
func (t *TenantLimit) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, wait := t.AllowAt(time.Now(), headerGet(r.Header, t.cfg.Header))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		hdr := w.Header()
		hdr["Retry-After"] = t.retry[min(maxRetryAfter, max(1, int(math.Ceil(wait.Seconds()))))]
		hdr["X-Shed-Reason"] = t.reasonHdr
		w.WriteHeader(http.StatusTooManyRequests)
	})
}
