package bulkhead_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/goodput-dev/goodput/target/bulkhead"
)

// One pool per dependency: a call takes a slot of its dependency's pool
// for as long as it runs, so a slow search cannot hold what db needs.
func Example() {
	deps, err := bulkhead.NewSet(
		bulkhead.Config{Name: "db", MaxConcurrent: 8, MaxWaiters: 16, MaxWait: 50 * time.Millisecond},
		bulkhead.Config{Name: "search", MaxConcurrent: 1},
	)
	if err != nil {
		panic(err)
	}
	call := func(ctx context.Context, dep string) error {
		release, err := deps.Pool(dep).Acquire(ctx)
		if err != nil {
			return fmt.Errorf("call %s: %w", dep, err)
		}
		defer release()
		return nil // the dependency call, taking ctx
	}
	ctx := context.Background()
	hung, _ := deps.Pool("search").Acquire(ctx) // search is saturated
	defer hung()
	err = call(ctx, "search")
	fmt.Println(errors.Is(err, bulkhead.ErrFull), err)
	fmt.Println(call(ctx, "db"))
	// Output:
	// true call search: bulkhead: full
	// <nil>
}

// Each request runs on one of a fixed set of workers and has it to itself.
func ExampleWorkers_Middleware() {
	workers, err := bulkhead.NewWorkers(bulkhead.WorkersConfig{Name: "work", Workers: 4, MaxWaiters: 8, MaxWait: time.Second})
	if err != nil {
		panic(err)
	}
	scratch := make([][]byte, workers.Size()) // per-worker resources
	h := workers.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := bulkhead.WorkerID(r.Context())
		if scratch[id] == nil {
			scratch[id] = make([]byte, 64<<10)
		}
		fmt.Fprintf(w, "worker %d, %d KiB scratch", id, len(scratch[id])>>10)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/api/work", nil))
	fmt.Println(w.Body.String())
	// Output: worker 0, 64 KiB scratch
}
