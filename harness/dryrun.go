package harness

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/survey"
)

// DryRun prints what Play would do with opts, without starting anything:
// each variant's resolved scenario (defaults filled in) and its timeline of
// phases and faults. For a shard of a sharded run (opts.Shard) the timeline
// is the shard's own: its share of each phase's rate, and which faults it
// applies (load and proxy faults on its own slice of the load; the
// target's admin API faults only on opts.FaultShard).
func DryRun(w io.Writer, runs []profiles.Run, opts Options) error {
	if opts.sharded() {
		fmt.Fprintf(w, "# shard %d of %d: offers 1/%d of every phase's rate; shard %d applies the faults on the target's admin API\n",
			opts.Shard.Index, opts.Shard.N(), opts.Shard.N(), opts.FaultShard)
	}
	for i, r := range runs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if r.Name != "" {
			fmt.Fprintf(w, "# variant %s\n", r.Name)
		}
		if _, err := w.Write(r.Scenario.YAML()); err != nil {
			return fmt.Errorf("dry run: %w", err)
		}
		if sv := r.Scenario.Survey; sv != nil {
			ms := make([]string, len(sv.Multipliers))
			for i, m := range sv.Multipliers {
				ms[i] = survey.FormatMultiplier(m)
			}
			fmt.Fprintf(w, "# survey: baseline %g/s; surges of %s for %v..%v, bisected to %v; each cell: %v of baseline, the surge, %v of baseline to judge recovery\n",
				float64(sv.Rate), strings.Join(ms, ", "), sv.Durations.Min, sv.Durations.Max, sv.Resolution, sv.Warmup, sv.Judge)
			continue
		}
		fmt.Fprintln(w, "# timeline")
		for _, line := range timeline(r.Scenario, &opts) {
			fmt.Fprintln(w, "#   "+line)
		}
	}
	return nil
}

// timeline lists the phases and fault actions of s in time order, as the
// shard of opts plays them.
func timeline(s *profiles.Scenario, opts *Options) []string {
	type item struct {
		at   time.Duration
		rank int // phases before faults at the same instant
		text string
	}
	var items []item
	at := time.Duration(0)
	n := float64(opts.Shard.N())
	for _, p := range schedulePhases(s) {
		rate := fmt.Sprintf("%g/s", p.From/n)
		if p.To != p.From {
			rate = fmt.Sprintf("%g→%g/s", p.From/n, p.To/n)
		}
		items = append(items, item{at, 0, fmt.Sprintf("phase %-14s %-12s for %v", p.Name, rate, p.Duration)})
		at += p.Duration
	}
	end := at
	for _, f := range s.Faults {
		what := fmt.Sprintf("%s (%s on %s)", f.Name, f.Kind, f.Target)
		if f.Target != faults.TargetLoad && f.Target != proxyName && !opts.appliesShared() {
			what += fmt.Sprintf(", applied by shard %d", opts.FaultShard)
		}
		items = append(items, item{f.At, 1, "apply  " + what})
		switch {
		case f.Kind == profiles.FaultBurst:
		case f.For > 0:
			items = append(items, item{f.At + f.For, 1, "remove " + what})
		default:
			items = append(items, item{end, 1, "remove " + what + " (run end)"})
		}
	}
	items = append(items, item{end, 2, "end"})
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].at != items[j].at {
			return items[i].at < items[j].at
		}
		return items[i].rank < items[j].rank
	})
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = fmt.Sprintf("%8s  %s", it.at, strings.TrimSpace(it.text))
	}
	return out
}
