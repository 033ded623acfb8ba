package harness

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

// A sharded play (Options.Shard with a count above 1) is one of N
// generators sharing each variant's schedule:
//
//   - every shard plays its slice of every variant's schedule
//     (workload.Config.Shard) and writes <label>.shard-I-of-N.mpk;
//   - with Options.StartAt, every shard starts variant k at the same
//     agreed instant (see variantStarts), and records in its header's
//     Shard.ClockOffset how late, by its own clock, it began;
//   - faults acting on shared state (the target's admin API: dependency
//     and target faults) are applied by the fault shard only, so they are
//     applied once; faults acting on what each shard owns (the "load":
//     surge, burst, retry; the shard's own fault proxy) are applied by
//     every shard, so together they act on the whole load: a surge
//     multiplies every shard's rate, a burst of n is split among the
//     shards, each shard's proxy carries its own slice of the traffic;
//   - assertions, the comparison and the json/html/junit reports judge the
//     whole run, so they come from the merged shards (loadgen merge, then
//     loadgen report), not from one shard's slice.

// variantSettle is the pause between two variants' agreed starts on top
// of the first one's schedule and request bound: the time a shard takes to
// summarise a variant and get the next one ready.
const variantSettle = 5 * time.Second

// maxRequestBound caps the time left for the requests still in flight
// after a schedule ends, when the client policy does not bound it.
const maxRequestBound = time.Minute

// sharded reports whether the play is one of several shards.
func (o *Options) sharded() bool { return o.Shard.N() > 1 }

// appliesShared reports whether this generator applies the faults acting
// on shared state: always when unsharded, else on the fault shard only.
func (o *Options) appliesShared() bool { return !o.sharded() || o.Shard.Index == o.FaultShard }

// checkShard refuses a sharded play that cannot work: a fault shard out of
// range, or an embedded target (each shard would start its own).
func checkShard(runs []profiles.Run, opts *Options) error {
	if err := opts.Shard.Validate(); err != nil {
		return &ConfigError{err}
	}
	if !opts.sharded() {
		return nil
	}
	if opts.FaultShard < 0 || opts.FaultShard >= opts.Shard.N() {
		return &ConfigError{fmt.Errorf("fault shard %d: want a shard index in [0, %d)", opts.FaultShard, opts.Shard.N())}
	}
	for _, r := range runs {
		if r.Scenario.Target.Embedded != nil {
			name := ""
			if r.Name != "" {
				name = "variant " + r.Name + ": "
			}
			return &ConfigError{fmt.Errorf("%starget.embedded cannot be sharded: each of the %d shards would start its own target; run the service once and point every shard at it (--set target.embedded=null --set target.url=http://HOST:PORT, and target.admin for its faults)", name, opts.Shard.N())}
		}
	}
	return nil
}

// resultsName is the results file of a variant: <label>.mpk, or
// <label>.shard-I-of-N.mpk for one shard of a sharded play.
func resultsName(label string, sh workload.Shard) string {
	if sh.N() > 1 {
		return fmt.Sprintf("%s.shard-%d-of-%d.mpk", label, sh.Index, sh.N())
	}
	return label + ".mpk"
}

// requestBound is how long a request of p may last from its intended
// start: its deadline, else every attempt's timeout and the backoff
// between them; capped at maxRequestBound, which is also the bound of a
// policy without timeouts.
func requestBound(p retry.Policy) time.Duration {
	if p.Deadline > 0 {
		return min(p.Deadline, maxRequestBound)
	}
	if p.AttemptTimeout <= 0 {
		return maxRequestBound
	}
	n := time.Duration(p.Attempts())
	return min(n*p.AttemptTimeout+(n-1)*max(p.Backoff.Max, p.Backoff.Base, p.RetryAfterCap), maxRequestBound)
}

// variantStarts returns each variant's agreed start instant from the
// first one's, at: variant k starts when variant k−1's schedule has ended,
// its requests have had their request bound to finish, and variantSettle
// has passed. Every shard computes the same instants from the same
// profile and --start-at. A shard still busy at an agreed instant starts
// late, which its header's ClockOffset and the run's "late start" note
// record.
func variantStarts(at time.Time, preps []*prepared) []time.Time {
	out := make([]time.Time, len(preps))
	for i, p := range preps {
		out[i] = at
		var d time.Duration
		for _, ph := range p.phases {
			d += ph.Duration
		}
		at = at.Add(d + requestBound(p.policy) + variantSettle)
	}
	return out
}

// shardTimeline returns the part of tl this generator applies, and the
// injectors it applies it with: everything on an unsharded play or on the
// fault shard; on the other shards, only the faults acting on the shard's
// own load and fault proxy, with no injector for the target's admin API
// (so they neither snapshot nor restore the shared target). A shard that
// leaves a fault to the fault shard still refuses it when the run has no
// admin API to apply it with, as the fault shard does, so that every shard
// refuses the same scenario.
func shardTimeline(tl faults.Timeline, in faults.Injectors, opts *Options) (faults.Timeline, faults.Injectors, error) {
	if opts.appliesShared() {
		return tl, in, nil
	}
	own := make([]faults.Entry, 0, len(tl.Entries))
	for i, e := range tl.Entries {
		if _, proxy := in.Proxies[e.Target]; proxy || e.Target == faults.TargetLoad {
			own = append(own, e)
			continue
		}
		if in.Target == nil {
			return tl, in, fmt.Errorf("faults[%d].target: %q needs the target's admin API (target.admin), which this run does not have", i, e.Target)
		}
	}
	tl.Entries = own
	in.Target = nil
	return tl, in, nil
}

// shardLoad is a shard's load controls for the timeline's load faults: a
// rate multiplier acts on every shard as it is (each multiplies its own
// slice), a burst of n is split so the shards together send n.
type shardLoad struct {
	runner *workload.Runner
	shard  workload.Shard
}

var _ faults.LoadController = shardLoad{}

// SetRateMultiplier multiplies this shard's offered rate by m.
func (l shardLoad) SetRateMultiplier(m float64) { l.runner.SetRateMultiplier(m) }

// Burst starts this shard's share of n extra requests: n/N, one more on
// the first n mod N shards.
func (l shardLoad) Burst(n int) {
	if k := burstShare(n, l.shard); k > 0 {
		l.runner.Burst(k)
	}
}

// burstShare is shard sh's share of a burst of n requests.
func burstShare(n int, sh workload.Shard) int {
	c := sh.N()
	k := n / c
	if sh.Index < n%c {
		k++
	}
	return k
}

// writeShardNote tells a shard's user where the run's verdicts come from.
func writeShardNote(w io.Writer, out *Played, opts *Options) {
	if len(out.Variants) == 0 {
		return
	}
	n := opts.Shard.N()
	fmt.Fprintf(w, "shard %s: this shard's results are one slice of the run; assertions and reports judge the whole run once every shard is done:\n", opts.Shard)
	for _, v := range out.Variants {
		dir := filepath.Dir(v.ResultsFile)
		merged := filepath.Join(dir, v.Name+".mpk")
		fmt.Fprintf(w, "  loadgen merge %s -o %s && loadgen report %s\n",
			filepath.Join(dir, fmt.Sprintf("%s.shard-*-of-%d.mpk", v.Name, n)), merged, merged)
	}
}
