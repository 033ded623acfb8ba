package targetadmin

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// LeaseHeader is the request header that puts a change under a lease: a
// Go duration, 1ms..1h (the target's contract).
const LeaseHeader = "X-Lease"

// leaseHeader returns the headers of a call leased for d; nil when d is 0
// (an unleased call, which ends the resource's lease).
func leaseHeader(d time.Duration) http.Header {
	if d == 0 {
		return nil
	}
	return http.Header{LeaseHeader: {d.String()}}
}

// Lease is one live lease on the target (GET /admin/leases).
type Lease struct {
	// Expires is when the target rolls the change back unless renewed.
	Expires time.Time
	// Remaining is how long the lease had left when the target answered.
	Remaining time.Duration
}

// Leases returns the target's live leases by resource ("deps/db",
// "config", "backlog").
func (c *Client) Leases(ctx context.Context) (map[string]Lease, error) {
	var views map[string]struct {
		Expires   time.Time `json:"expires"`
		Remaining string    `json:"remaining"`
	}
	if err := c.do(ctx, http.MethodGet, "/admin/leases", nil, nil, &views); err != nil {
		return nil, err
	}
	out := make(map[string]Lease, len(views))
	for k, v := range views {
		rem, err := time.ParseDuration(v.Remaining)
		if err != nil {
			return nil, fmt.Errorf("GET /admin/leases: %s: remaining %q: %w", k, v.Remaining, err)
		}
		out[k] = Lease{Expires: v.Expires, Remaining: rem}
	}
	return out, nil
}
