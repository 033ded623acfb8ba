package targetadmin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// backlogView is the part of GET/PATCH /admin/backlog's answer that
// DeliverTo reads.
type backlogView struct {
	DeliverTo string `json:"deliver_to"`
}

// DeliverTo points the reference target's async message consumers at url
// (PATCH /admin/backlog {"deliver_to": url}; "" delivers nowhere) and
// returns the delivery URL in force before, so that the caller can put it
// back when its delivery sink stops. The two calls are not atomic: a
// concurrent change between them is overwritten.
func (c *Client) DeliverTo(ctx context.Context, url string) (prev string, err error) {
	var before, after backlogView
	if err := c.do(ctx, http.MethodGet, "/admin/backlog", nil, nil, &before); err != nil {
		return "", err
	}
	body, err := json.Marshal(backlogView{DeliverTo: url})
	if err != nil {
		return "", fmt.Errorf("encode deliver_to: %w", err)
	}
	if err := c.do(ctx, http.MethodPatch, "/admin/backlog", nil, body, &after); err != nil {
		return "", err
	}
	if after.DeliverTo != url {
		return before.DeliverTo, fmt.Errorf("PATCH /admin/backlog: deliver_to is %q after setting it to %q", after.DeliverTo, url)
	}
	return before.DeliverTo, nil
}
