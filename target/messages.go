package target

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goodput-dev/goodput/dist"

	"github.com/goodput-dev/goodput/target/backlog"
)

// routeMessages names POST /api/messages in metrics and logs.
const routeMessages = "messages"

// MessagesConfig configures the asynchronous route POST /api/messages
// (target/backlog): messages are queued and answered 202, then a fixed
// pool of consumers processes each one with a call of a dependency and
// delivers it by HTTP POST to Queue.DeliverTo.
type MessagesConfig struct {
	// Consumers is the size of the consumer pool, 1..1024. It cannot
	// change while the server runs.
	Consumers int `json:"consumers"`
	// Process names the dependency each delivery attempt calls first
	// ("db" or "search"; "none": no processing), so the consumers'
	// throughput is bounded by that dependency's pool and latency.
	Process string `json:"process"`
	// Queue is the backlog's configuration: discipline, capacities, TTL,
	// backpressure, surge lane, shuffle-sharding and the delivery URL.
	// It also reads and changes live at /admin/backlog, except
	// queue.queues.
	Queue backlog.Config `json:"queue"`
}

// processNone is the value of MessagesConfig.Process for no processing.
const processNone = "none"

// Validate reports the fields out of range.
func (c MessagesConfig) Validate() error {
	var errs []error
	errs = appendErr(errs, inRange("consumers", c.Consumers, 1, maxConsumers))
	switch c.Process {
	case "db", "search", processNone:
	default:
		errs = append(errs, fmt.Errorf("process: %q, want db, search or none", c.Process))
	}
	if err := c.Queue.Validate(); err != nil {
		errs = append(errs, prefix("queue", err))
	}
	return errors.Join(errs...)
}

// defaultMessages is the messages section of both presets: four consumers
// that each call db once per message (db: pool 8 × 20 ms, so at most 200
// messages/s), and the preset's queue.
//
//   - unprotected: one FIFO queue of 10 000 messages, no TTL, no
//     backpressure, no surge lane: a surge becomes a backlog that every
//     later message waits behind.
//   - protected: eight queues with shuffle-sharding (each tenant uses 2
//     of them), age-based priority (messages older than 1 s wait behind
//     fresh ones), a 10 s TTL, a surge lane of 500 beside a normal
//     capacity of 500 per queue, and backpressure (429) at a depth of 1000
//     per queue. Backpressure is by depth only: an age threshold would
//     refuse fresh messages because of the aged backlog that priority
//     deliberately leaves behind.
func defaultMessages(preset string) MessagesConfig {
	m := MessagesConfig{Consumers: 4, Process: "db", Queue: backlog.DefaultConfig()}
	if preset == PresetProtected {
		q := &m.Queue
		q.Discipline = backlog.Priority
		q.AgeThreshold = dist.Duration(time.Second)
		q.TTL = dist.Duration(10 * time.Second)
		q.Capacity = 500
		q.SurgeCapacity = 500
		q.BackpressureDepth = 1000
		q.Queues = 8
		q.ShardSize = 2
		q.Seed = 1
	}
	return m
}

// newMessages builds the backlog service of cfg's messages section; its
// consumers call the dependency named by the configuration in force, read
// for each message.
func (s *Server) newMessages(cfg MessagesConfig) (*backlog.Service, error) {
	svc, err := backlog.NewService(cfg.Queue, backlog.Options{
		Consumers: cfg.Consumers,
		Process:   s.processMessage,
	})
	if err != nil {
		return nil, fmt.Errorf("messages: %w", err)
	}
	return svc, nil
}

// processMessage is one consumer's work for a message: one call of the
// configured dependency.
func (s *Server) processMessage(ctx context.Context) error {
	d := s.dep(s.chain.Load().cfg.Messages.Process)
	if d == nil {
		return nil // "none"
	}
	_, err := d.Call(ctx)
	return err
}

// RunConsumers runs the consumers of POST /api/messages until ctx ends and
// returns after they have all stopped. Serve calls it; call it yourself
// only when mounting Handler without Serve (otherwise accepted messages
// stay queued). It may be called once.
func (s *Server) RunConsumers(ctx context.Context) error {
	return s.messages.Run(ctx)
}
