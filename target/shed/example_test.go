package shed_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/goodput-dev/goodput/target/shed"
)

// A service puts the tenant throttle first, then admission control, in
// front of its router; the handler reads how long the request queued.
func Example() {
	limiter, err := shed.NewGradient(shed.GradientConfig{Initial: 16, Min: 4, Max: 256})
	if err != nil {
		panic(err)
	}
	s, err := shed.New(shed.Config{
		Limiter:    limiter,
		QueueSize:  64,
		MaxWait:    100 * time.Millisecond,
		Discipline: shed.CoDel,
		Observer: shed.Funcs{OnRejected: func(r shed.Reason) {
			fmt.Println("rejected:", r.String()) // a metrics counter in a real service
		}},
	})
	if err != nil {
		panic(err)
	}
	throttle, err := shed.NewTenantLimit(shed.TenantLimitConfig{Rate: 100, Burst: 20, MaxTenants: 10000})
	if err != nil {
		panic(err)
	}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, _ := shed.QueueWait(r.Context())
		w.Header().Set("Server-Timing", fmt.Sprintf("queue;dur=%.1f", float64(wait)/1e6))
	})
	h := throttle.Middleware(s.Middleware(app))

	// A client that will only wait 0 ms more cannot be served in time.
	r := httptest.NewRequest(http.MethodGet, "/api/items/1", nil)
	r.Header.Set("X-Timeout-Ms", "0")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("X-Shed-Reason"), w.Header().Get("Retry-After"))

	r.Header.Set("X-Timeout-Ms", "1000")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Println(w.Code, w.Header().Get("Server-Timing"))
	// Output:
	// rejected: deadline
	// 503 deadline 1
	// 200 queue;dur=0.0
}

// Acquire works around any unit of work, not only HTTP handlers.
func ExampleShedder_Acquire() {
	s, err := shed.New(shed.Config{Limiter: shed.Static(1)})
	if err != nil {
		panic(err)
	}
	p, err := s.Acquire(context.Background(), shed.Attrs{})
	if err != nil {
		panic(err)
	}
	_, err = s.Acquire(context.Background(), shed.Attrs{})
	var reason shed.Reason
	fmt.Println(errors.Is(err, shed.ErrShed), errors.As(err, &reason), reason.String())
	p.Release(false)
	// Output: true true limit
}
