package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/target/backlog"
)

const shuffleUsageHead = `target shuffle-shard prints how much two tenants' shards overlap when each
tenant is given K of N queues (nodes): for s = 0..K, the fraction of tenant
pairs that share exactly s, both exact, C(K,s)·C(N−K,K−s)/C(N,K), and
measured over T tenants with the assignment function the async queues use
(target/backlog.ShardOf), so the calculator also tests the implementation.

Usage:
  target shuffle-shard --nodes N --shard-size K [--tenants T] [--seed S] [--format text|json]

Flags:
`

const shuffleUsageTail = `
Examples:
  # 8 queues, 2 per tenant: 53.6% of tenant pairs share nothing, 3.6% everything
  target shuffle-shard --nodes 8 --shard-size 2

  # 100 nodes, 5 per tenant, as JSON
  target shuffle-shard --nodes 100 --shard-size 5 --format json

JSON output:
  {"nodes":N,"shard_size":K,"tenants":T,"seed":S,
   "overlap":[{"shared":0,"exact":0.5357,"measured":0.5361},…]}

Exit codes:
  0  printed (or --help)
  2  bad flags
`

// maxShuffleTenants bounds --tenants: the measurement compares all pairs.
const maxShuffleTenants = 20000

// shuffleOverlap is one row of the calculator's output.
type shuffleOverlap struct {
	Shared   int     `json:"shared"`
	Exact    float64 `json:"exact"`
	Measured float64 `json:"measured"`
}

// shuffleReport is the calculator's JSON output.
type shuffleReport struct {
	Nodes     int              `json:"nodes"`
	ShardSize int              `json:"shard_size"`
	Tenants   int              `json:"tenants"`
	Seed      uint64           `json:"seed"`
	Overlap   []shuffleOverlap `json:"overlap"`
}

// runShuffleShard is "target shuffle-shard".
func runShuffleShard(_ context.Context, args []string, stdout, _ io.Writer) error {
	var (
		nodes, shardSize, tenants int
		seed                      uint64
		format                    string
	)
	fs := pflag.NewFlagSet("shuffle-shard", pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.IntVar(&nodes, "nodes", 0, "number of queues (nodes), N ≥ 1 (required)")
	fs.IntVar(&shardSize, "shard-size", 0, fmt.Sprintf("queues per tenant, 1 ≤ K ≤ min(N, %d) (required)", backlog.MaxShardSize))
	fs.IntVar(&tenants, "tenants", 1000, fmt.Sprintf("tenants to measure the assignment over, 2..%d", maxShuffleTenants))
	fs.Uint64Var(&seed, "seed", 1, "seed of the tenant-to-queues assignment")
	fs.StringVar(&format, "format", "text", "output format: text or json")
	err := fs.Parse(args)
	if errors.Is(err, pflag.ErrHelp) {
		fmt.Fprint(stdout, shuffleUsageHead)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fmt.Fprint(stdout, shuffleUsageTail)
		return cli.ErrHelp
	}
	if err != nil {
		return cli.Usagef("shuffle-shard: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return cli.Usagef("shuffle-shard: unexpected argument %q", fs.Arg(0))
	case nodes < 1 || nodes > backlog.MaxQueues:
		return cli.Usagef("shuffle-shard: --nodes %d: want 1..%d", nodes, backlog.MaxQueues)
	case shardSize < 1 || shardSize > nodes || shardSize > backlog.MaxShardSize:
		return cli.Usagef("shuffle-shard: --shard-size %d: want 1..min(--nodes %d, %d)", shardSize, nodes, backlog.MaxShardSize)
	case tenants < 2 || tenants > maxShuffleTenants:
		return cli.Usagef("shuffle-shard: --tenants %d: want 2..%d", tenants, maxShuffleTenants)
	case format != "text" && format != "json":
		return cli.Usagef("shuffle-shard: --format %q: want text or json", format)
	}

	exact := backlog.ExactOverlap(nodes, shardSize)
	measured := backlog.MeasuredOverlap(seed, nodes, shardSize, tenants)
	rep := shuffleReport{Nodes: nodes, ShardSize: shardSize, Tenants: tenants, Seed: seed}
	for s := range exact {
		rep.Overlap = append(rep.Overlap, shuffleOverlap{Shared: s, Exact: exact[s], Measured: measured[s]})
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		if err := enc.Encode(rep); err != nil {
			return cli.Runf("write output: %w", err)
		}
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%d nodes, shard size %d: share of tenant pairs by queues in common (measured over %d tenants, seed %d)\n", nodes, shardSize, tenants, seed)
	fmt.Fprint(tw, "shared\texact\tmeasured\t\n")
	for _, o := range rep.Overlap {
		fmt.Fprintf(tw, "%d\t%.4f%%\t%.4f%%\t\n", o.Shared, 100*o.Exact, 100*o.Measured)
	}
	if err := tw.Flush(); err != nil {
		return cli.Runf("write output: %w", err)
	}
	return nil
}
