package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"time"

	"github.com/goodput-dev/goodput/internal/targetadmin"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/workload"
)

// sinkFlags are attack's flags for async routes: a delivery sink that the
// target's consumers POST each message to.
type sinkFlags struct {
	addr      string
	grace     time.Duration
	admin     string
	tokenFile *string
}

// adminCallTimeout bounds each call to the target's admin API.
const adminCallTimeout = 5 * time.Second

func addSinkFlags(fs *pflag.FlagSet) *sinkFlags {
	f := &sinkFlags{}
	fs.StringVar(&f.addr, "sink", "", "receive the target's async deliveries on this host:port (127.0.0.1:0: a free port) and record each as a delivered/expired/dead_lettered/undelivered record; needs --target-admin")
	fs.DurationVar(&f.grace, "sink-grace", 5*time.Second, "with --sink: how long to wait after the load for messages still queued before counting them undelivered")
	fs.StringVar(&f.admin, "target-admin", "", "admin API of the reference target, e.g. http://127.0.0.1:8081: --sink points its consumers at the sink (PATCH /admin/backlog deliver_to) and puts the old URL back at the end")
	f.tokenFile = addAdminTokenFlag(fs, "--target-admin")
	return f
}

// deliveries is the delivery sink of one attack. open listens and tells
// the target where the sink is before the schedule starts; the run driver
// serves it (driven), report prints its counts; close puts the target's
// old delivery URL back. A nil *deliveries (no --sink) does
// nothing. Not safe for concurrent use.
type deliveries struct {
	grace  time.Duration
	ln     net.Listener
	url    string
	admin  *targetadmin.Client
	prev   string
	stderr io.Writer
	closed bool
}

// open checks the flags, listens on --sink and points the target at it;
// nil without --sink. A sharded run cannot have a sink: the target
// delivers to one URL, so every shard's sink would take the others'.
func (f *sinkFlags) open(ctx context.Context, shard workload.Shard, stderr io.Writer) (*deliveries, error) {
	if f.addr == "" {
		if f.admin != "" {
			return nil, cli.Usagef("attack: --target-admin is only used with --sink")
		}
		return nil, nil
	}
	if f.admin == "" {
		return nil, cli.Usagef("attack: --sink needs --target-admin URL, the target's admin API, to tell it where to deliver")
	}
	if u, err := url.Parse(f.admin); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cli.Usagef("attack: --target-admin: %q, want an http:// or https:// URL", f.admin)
	}
	if shard.N() > 1 {
		return nil, cli.Usagef("attack: --sink with shard %s: the target delivers to one URL, so run async load unsharded", shard)
	}
	if f.grace < 0 {
		return nil, cli.Usagef("attack: --sink-grace: %v, want ≥ 0", f.grace)
	}
	token, from, err := adminToken(*f.tokenFile)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", f.addr)
	if err != nil {
		return nil, cli.Usagef("attack: --sink %s: %v", f.addr, err)
	}
	d := &deliveries{grace: f.grace, ln: ln, url: harness.DeliveryURL(ln),
		admin: &targetadmin.Client{BaseURL: f.admin, Token: token, TokenFrom: from}, stderr: stderr}
	cctx, cancel := context.WithTimeout(ctx, adminCallTimeout)
	defer cancel()
	if d.prev, err = d.admin.DeliverTo(cctx, d.url); err != nil {
		_ = ln.Close()
		return nil, cli.Runf("attack: tell the target to deliver to %s: %v", d.url, err)
	}
	fmt.Fprintf(stderr, "attack: delivery sink on %s (the target at %s delivers there)\n", d.url, f.admin)
	return d, nil
}

// driven returns the sink as the run driver takes it, which serves and
// closes the listener; nil without --sink.
func (d *deliveries) driven() *harness.Deliveries {
	if d == nil {
		return nil
	}
	return &harness.Deliveries{Listener: d.ln, Drain: d.grace}
}

// report prints what the delivery sink of a run counted.
func (d *deliveries) report(run *harness.Driven) {
	if d == nil || run == nil || run.Deliveries == nil {
		return
	}
	c := run.Deliveries
	fmt.Fprintf(d.stderr, "attack: deliveries: %d accepted, %d delivered, %d expired, %d dead-lettered, %d undelivered (%d dropped by the target), %d unmatched, %d late, %d stale (enqueued before this run, not counted)\n",
		c.Accepted, c.Delivered, c.Expired, c.DeadLettered, c.Undelivered+c.Dropped, c.Dropped, c.Unmatched, c.Late, c.Stale)
}

// close puts the target's old delivery URL back (bounded by
// adminCallTimeout, also after ctx ended) and closes the listener, if the
// run never did. A failure is a warning: the results are complete.
func (d *deliveries) close(ctx context.Context) {
	if d == nil || d.closed {
		return
	}
	d.closed = true
	_ = d.ln.Close()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), adminCallTimeout)
	defer cancel()
	if _, err := d.admin.DeliverTo(cctx, d.prev); err != nil {
		fmt.Fprintf(d.stderr, "attack: warning: could not set the target's deliver_to back to %q: %v\n", d.prev, err)
	}
}
