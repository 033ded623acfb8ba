package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/harness"
	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/workload"
)

const attackExamples = `  # 200 requests/s for 30 s, text summary at the end
  loadgen attack --url http://127.0.0.1:8080/api/items/1 --rate 200 --duration 30s

  # a ramp and a surge, Poisson arrivals, results to a file
  loadgen attack --url http://127.0.0.1:8080/ --phase 10s@200 --phase 20s@200-1000 --phase 10s@3000 \
      --arrival poisson -o results.mpk

  # clients that retry 3 times with backoff, jitter and a 10% retry budget
  loadgen attack --url http://127.0.0.1:8080/ --rate 500 --duration 1m --timeout 1s --deadline 3s \
      --max-attempts 3 --retry-on 429,503,5xx,timeout,conn --backoff exponential --jitter full \
      --retry-budget ratio:0.1 -o - | loadgen report -

  # async messages: a delivery sink records how old each message is when the target delivers it
  loadgen attack --url http://127.0.0.1:8080/api/messages --method POST --body-file msg.json \
      --phase 10s@100 --phase 10s@500 --phase 20s@100 --sink 127.0.0.1:0 --target-admin http://127.0.0.1:8081

  # shard 2 of 4, all shards starting together
  loadgen attack --url http://svc:8080/ --rate 20000 --duration 5m --shard 2/4 --start-at +30s -o shard2.mpk
`

// preflightTimeout bounds the dial that checks the target is reachable.
const preflightTimeout = 3 * time.Second

// preflight dials each host of cfg's requests before the schedule starts,
// so that a run against nothing fails at once, in one line naming the host.
// A host that asks for a client certificate when the run has none gets a
// warning on stderr: the handshake cannot tell whether it requires one.
func preflight(ctx context.Context, command string, cfg workload.Config, stderr io.Writer) error {
	for _, u := range workload.TargetHosts(cfg.Mix) {
		rep, err := workload.Preflight(ctx, u, preflightTimeout, cfg.HTTP.TLS)
		switch {
		case err != nil && rep.ClientCertRequested:
			return cli.Runf("%s: %v (%s asked for a client certificate and none was given: --cert and --key)", command, err, u)
		case err != nil:
			return cli.Runf("%s: %v", command, err)
		case rep.ClientCertRequested:
			fmt.Fprintf(stderr, "%s: warning: %s asked for a client certificate and none was given (--cert and --key): if it requires one (mutual TLS), it fails every request\n", command, u)
		}
	}
	return nil
}

// unanswered returns the error of a run in which attempts were made and
// none got an HTTP answer, naming the most frequent error; nil otherwise.
func unanswered(command string, c workload.LiveCounts) error {
	if c.Attempts == 0 || c.Answered > 0 {
		return nil
	}
	if c.TopError == "" {
		return cli.Runf("%s: none of the %d attempts got an HTTP answer", command, c.Attempts)
	}
	return cli.Runf("%s: none of the %d attempts got an HTTP answer; most failed with %q (%d attempts)", command, c.Attempts, c.TopError, c.TopErrorCount)
}

// runAttack drives a URL open-loop and records every attempt.
func runAttack(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs, f := newAttackFlags(stdout)
	cf, sf, out, quiet, label := f.cf, f.sf, f.out, f.quiet, f.label
	mf := f.mf
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("attack: unexpected argument %q (see loadgen attack --help)", fs.Arg(0))
	}
	cfg, err := cf.workloadConfig(fs)
	if err != nil {
		return err
	}
	if err := preflight(ctx, "attack", cfg, stderr); err != nil {
		return err
	}
	w, err := mf.start(ctx, "attack", stderr)
	if err != nil {
		return err
	}
	defer func() {
		if serr := w.stop(ctx); serr != nil && err == nil {
			err = cli.Runf("attack: %v", serr)
		}
	}()
	del, err := sf.open(ctx, cfg.Shard, stderr)
	if err != nil {
		return err
	}
	defer del.close(ctx)
	agreed := !cfg.Start.IsZero() // --start-at; otherwise the driver starts the run once ready
	d, err := harness.NewDriver(cfg)
	if err != nil {
		return cli.Usagef("attack: %v", err)
	}
	fmt.Fprintf(stderr, "attack: seed %d, shard %s, %d requests offered over %v\n", cfg.Seed, cfg.Shard, int(cfg.Schedule.Total()/float64(cfg.Shard.N())+0.5), cfg.Schedule.Duration())
	// Where records go: a results stream (file or stdout), or an aggregator
	// for the text summary.
	header := cf.resultsHeader("attack", cfg, cfg.Start)
	header.Label = *label
	opts := harness.DriveOptions{
		Name:       "attack",
		Log:        stderr,
		Header:     header,
		Agreed:     agreed, // the header records how late after the agreed instant this generator began, as loadgen run's shards do
		Deliveries: del.driven(),
		Metrics:    w.registry(),
	}
	if !*quiet {
		opts.Progress, opts.Terminal = stderr, cli.IsTerminal(stderr)
	}
	dst := output{}
	if *out == "" {
		opts.Summarize = &report.Options{}
	} else {
		if dst, err = openOutput("attack", *out, stdout); err != nil {
			return err
		}
		opts.Out = dst
	}
	driven, runErr := d.Run(ctx, opts)
	del.report(driven)
	if err := dst.Close(); err != nil {
		return cli.Runf("attack: write %s: %v", *out, err)
	}
	switch {
	case runErr != nil:
		return cli.Runf("attack: %v", runErr)
	case driven.Interrupted && driven.Counts.Requests == 0:
		return cli.Runf("attack: interrupted before any result")
	case driven.Interrupted:
		fmt.Fprintf(stderr, "attack: interrupted after %d requests; results kept\n", driven.Counts.Requests)
	}
	counts := driven.Counts
	if st := driven.Stats; st.Dropped > 0 {
		fmt.Fprintf(stderr, "attack: warning: %d requests were not sent (generator_dropped): %s; the generator, not the service, was the limit\n", st.Dropped, dropReasons(st, cfg.MaxInFlight))
	}
	if driven.Summary != nil {
		if err := report.WriteText(stdout, driven.Summary, report.TextOptions{Color: isTerminal(stdout)}); err != nil {
			return cli.Runf("attack: write summary: %v", err)
		}
	} else if *out != "-" {
		fmt.Fprintf(stderr, "attack: %d requests, %d attempts written to %s\n", counts.Requests, counts.Attempts, *out)
	}
	return unanswered("attack", counts)
}

// attackFlags are the flags of loadgen attack, where their values land.
type attackFlags struct {
	cf    *clientFlags
	sf    *sinkFlags
	out   *string
	quiet *bool
	label *string
	mf    *metricsFlags
}

// newAttackFlags returns the FlagSet of loadgen attack and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newAttackFlags(stdout io.Writer) (*pflag.FlagSet, attackFlags) {
	fs := newFlagSet("attack", "attack --url URL [--rate RPS --duration D | --phase D@RATE ...] [flags]", attackExamples, stdout)
	cf := addClientFlags(fs)
	sf := addSinkFlags(fs)
	mf := addMetricsFlags(fs)
	out := fs.StringP("output", "o", "", `results file ("-" for stdout); without it, print a text summary at the end`)
	quiet := fs.Bool("quiet", false, "no progress line on stderr")
	label := fs.String("label", "", "name of the run, recorded in the results header and shown by every report")
	return fs, attackFlags{cf, sf, out, quiet, label, mf}
}

// dropReasons says why the generator dropped st.Dropped requests.
func dropReasons(st workload.Stats, maxInFlight int) string {
	var why []string
	if st.Behind > 0 {
		why = append(why, fmt.Sprintf("%d because the requests waiting to be sent stayed more than %v behind (its cores, or --connections, were saturated)", st.Behind, workload.BacklogDelay))
	}
	if rest := st.Dropped - st.Behind; rest > 0 {
		why = append(why, fmt.Sprintf("%d because --max-inflight %d was reached or the run began after its start instant", rest, maxInFlight))
	}
	return strings.Join(why, ", ")
}
