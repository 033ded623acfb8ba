package main

import (
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/internal/cli"
	"github.com/goodput-dev/goodput/target"
	"github.com/goodput-dev/goodput/target/backlog"
)

// messageFlags are the flags of the async route POST /api/messages: the
// main knobs of the messages section (the rest is in --config).
type messageFlags struct {
	consumers         int
	process           string
	deliverTo         string
	discipline        string
	capacity          int
	ageThreshold      time.Duration
	ttl               time.Duration
	backpressureDepth int
	backpressureAge   time.Duration
	surge             int
	queues            int
	shardSize         int
}

func addMessageFlags(fs *pflag.FlagSet) *messageFlags {
	m := &messageFlags{}
	fs.IntVar(&m.consumers, "consumers", 0, "async messages: consumer pool size")
	fs.StringVar(&m.process, "consume-dep", "", "async messages: dependency each delivery attempt calls first: db, search or none")
	fs.StringVar(&m.deliverTo, "deliver-to", "", "async messages: URL consumers POST each delivery to (loadgen --sink sets it through the admin API)")
	fs.StringVar(&m.discipline, "queue-discipline", "", "async messages: fifo, lifo or priority (messages older than --age-threshold wait behind fresh ones)")
	fs.IntVar(&m.capacity, "queue-capacity", 0, "async messages: capacity of each queue's normal lanes")
	fs.DurationVar(&m.ageThreshold, "age-threshold", 0, "async messages: age at which priority moves a message to the low-priority lane")
	fs.DurationVar(&m.ttl, "message-ttl", 0, "async messages: time to live; older messages are dropped as expired (0: none)")
	fs.IntVar(&m.backpressureDepth, "backpressure-depth", 0, "async messages: refuse new messages (429) to a queue this deep (0: off)")
	fs.DurationVar(&m.backpressureAge, "backpressure-age", 0, "async messages: refuse new messages (429) to a queue whose oldest message is this old (0: off)")
	fs.IntVar(&m.surge, "surge-queue", 0, "async messages: surge lane capacity per queue, served after the normal lanes (0: none)")
	fs.IntVar(&m.queues, "queues", 0, "async messages: number of queues (shuffle-sharding's N)")
	fs.IntVar(&m.shardSize, "shard-size", 0, "async messages: queues each tenant may use (shuffle-sharding's K)")
	return m
}

// apply sets the fields of the flags given on the command line; the error
// names the first flag with a bad value.
func (m *messageFlags) apply(fs *pflag.FlagSet, cfg *target.Config) error {
	msg, q := &cfg.Messages, &cfg.Messages.Queue
	var err error
	set := func(name string, apply func() error) {
		if err == nil && fs.Changed(name) {
			if aerr := apply(); aerr != nil {
				err = cli.Usagef("--%s: %w", name, aerr)
			}
		}
	}
	set("consumers", func() error { msg.Consumers = m.consumers; return positive(m.consumers) })
	set("consume-dep", func() error { msg.Process = m.process; return nil })
	set("deliver-to", func() error { q.DeliverTo = m.deliverTo; return checkURL(m.deliverTo) })
	set("queue-discipline", func() (err error) { q.Discipline, err = backlog.ParseDiscipline(m.discipline); return err })
	set("queue-capacity", func() error { q.Capacity = m.capacity; return positive(m.capacity) })
	set("age-threshold", func() error { q.AgeThreshold = dist.Duration(m.ageThreshold); return positive(m.ageThreshold) })
	set("message-ttl", func() error { q.TTL = dist.Duration(m.ttl); return nonNegative(m.ttl) })
	set("backpressure-depth", func() error { q.BackpressureDepth = m.backpressureDepth; return nonNegative(m.backpressureDepth) })
	set("backpressure-age", func() error {
		q.BackpressureAge = dist.Duration(m.backpressureAge)
		return nonNegative(m.backpressureAge)
	})
	set("surge-queue", func() error { q.SurgeCapacity = m.surge; return nonNegative(m.surge) })
	set("queues", func() error {
		q.Queues = m.queues
		if !fs.Changed("shard-size") {
			q.ShardSize = min(q.ShardSize, max(m.queues, 1))
		}
		return positive(m.queues)
	})
	set("shard-size", func() error { q.ShardSize = m.shardSize; return positive(m.shardSize) })
	return err
}

// nonNegative checks a flag value where 0 means off.
func nonNegative[T int | time.Duration](v T) error {
	if v < 0 {
		return fmt.Errorf("%v, want ≥ 0 (0: off)", v)
	}
	return nil
}
