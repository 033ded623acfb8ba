package backlog

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/goodput-dev/goodput/dist"
)

// Discipline is the order in which a queue's fresh and surge lanes are
// served. The zero value is FIFO.
type Discipline uint8

// Queue disciplines.
const (
	// FIFO serves the oldest message first: a backlog delays every message
	// behind it.
	FIFO Discipline = iota
	// LIFO serves the newest message first: a backlog delays only the old
	// messages, and fresh ones keep their latency.
	LIFO
	// Priority serves the fresh lane oldest first, but a message older than
	// Config.AgeThreshold moves to a low-priority "aged" lane that is served
	// only when no queue has fresh messages. FIFO among fresh messages, LIFO
	// behaviour for the backlog as a whole.
	Priority
	numDisciplines
)

var disciplineNames = [numDisciplines]string{FIFO: "fifo", LIFO: "lifo", Priority: "priority"}

// String returns the discipline's name as used in JSON and flags.
func (d Discipline) String() string {
	if d < numDisciplines {
		return disciplineNames[d]
	}
	return fmt.Sprintf("discipline(%d)", uint8(d))
}

// ParseDiscipline returns the discipline named s ("fifo", "lifo",
// "priority").
func ParseDiscipline(s string) (Discipline, error) {
	for i, n := range disciplineNames {
		if n == strings.ToLower(s) {
			return Discipline(i), nil
		}
	}
	return 0, fmt.Errorf("unknown discipline %q (valid: fifo, lifo, priority)", s)
}

// MarshalText encodes d by name.
func (d Discipline) MarshalText() ([]byte, error) {
	if d >= numDisciplines {
		return nil, fmt.Errorf("marshal discipline: invalid value %d", uint8(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText decodes a discipline name.
func (d *Discipline) UnmarshalText(b []byte) error {
	v, err := ParseDiscipline(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MaxShardSize bounds Config.ShardSize.
const MaxShardSize = 16

// MaxQueues bounds Config.Queues.
const MaxQueues = 4096

// Ranges of Config's other numeric fields: each bounds what one setting can
// cost in memory or time, so that no admin call can exhaust the process.
const (
	// MaxCapacity bounds Capacity, SurgeCapacity and DeadLetterCapacity
	// (messages per queue).
	MaxCapacity = 1_000_000
	// MaxAge bounds AgeThreshold, TTL and BackpressureAge.
	MaxAge = 24 * time.Hour
	// MaxRetryAfter bounds RetryAfter.
	MaxRetryAfter = time.Hour
	// MaxDeliveries bounds Config.MaxDeliveries.
	MaxDeliveries = 100
	// MaxMessageBytes bounds MaxBodyBytes.
	MaxMessageBytes = 16 << 20
)

// Config is the behaviour of a Backlog and its Service. It is also the JSON
// body of the admin hook (Service.AdminHandler), where a missing field keeps
// its current value. A Config is a value: copy it, change the copy, apply it
// with SetConfig, which validates it.
type Config struct {
	// Discipline orders the fresh and surge lanes of every queue.
	Discipline Discipline `json:"discipline"`
	// Capacity bounds the messages of one queue's normal lanes (fresh and
	// aged together), 1..MaxCapacity.
	Capacity int `json:"capacity"`
	// SurgeCapacity bounds one queue's surge lane, which takes the messages
	// that find the normal lanes full and is served only when no queue has
	// normal messages, 0..MaxCapacity. 0 disables the surge lane.
	SurgeCapacity int `json:"surge_capacity"`
	// AgeThreshold is the age at which the Priority discipline moves a
	// message from the fresh lane to the aged lane, 0..MaxAge.
	AgeThreshold dist.Duration `json:"age_threshold"`
	// TTL is a message's time to live: a message older than TTL when a
	// consumer reaches it is dropped and counted as expired, 0..MaxAge.
	// 0 means no TTL.
	TTL dist.Duration `json:"ttl"`
	// MaxDeliveries is how many times a consumer tries a message (process,
	// then deliver) before giving up on it, 1..MaxDeliveries.
	MaxDeliveries int `json:"max_deliveries"`
	// DeadLetterCapacity bounds the dead-letter queue, which keeps the
	// messages that failed MaxDeliveries times (and, with
	// DeadLetterOnExpiry, the expired ones). When it is full its oldest
	// message is discarded. 0..MaxCapacity; 0 disables it: such messages
	// are dropped.
	DeadLetterCapacity int `json:"dead_letter_capacity"`
	// DeadLetterOnExpiry sends expired messages to the dead-letter queue
	// instead of dropping them.
	DeadLetterOnExpiry bool `json:"dead_letter_on_expiry"`
	// BackpressureDepth refuses new messages (ErrBackpressure) to a queue
	// whose depth (all lanes) has reached it, 0..2×MaxCapacity. 0 disables
	// the check.
	BackpressureDepth int `json:"backpressure_depth"`
	// BackpressureAge refuses new messages to a queue whose oldest message
	// is at least this old, or when the new message's predicted wait would
	// exceed it, 0..MaxAge. 0 disables the check. The prediction is
	//
	//	wait = ahead × gap
	//
	// where ahead is the number of the queue's messages served before the
	// new one (its lane and the lanes served before it; none in the fresh
	// lane under LIFO) and gap is the queue's measured drain interval: an
	// EWMA (weight 1/8) of the time between its dequeues while it is
	// non-empty, so 1/gap is its drain rate. gap is 0 until the queue's
	// first dequeue, so the prediction admits until then and the oldest-age
	// check alone bounds the start of a surge. Predicting keeps the oldest
	// age near the threshold under a sustained surge; the oldest-age check
	// alone lets it overshoot by up to the ratio of arrival to drain rate.
	BackpressureAge dist.Duration `json:"backpressure_age"`
	// RetryAfter is what a refused producer is told to wait (Retry-After,
	// rounded up to whole seconds), 0..MaxRetryAfter.
	RetryAfter dist.Duration `json:"retry_after"`
	// Queues is the number of queues (shuffle-sharding's N). It is fixed
	// when the Backlog is made.
	Queues int `json:"queues"`
	// ShardSize is the number of queues each tenant may use (K ≤ Queues,
	// ≤ MaxShardSize); a message goes to the shortest of its tenant's.
	ShardSize int `json:"shard_size"`
	// Seed seeds the tenant-to-queues assignment (see ShardOf).
	Seed uint64 `json:"seed"`
	// DeliverTo is the URL consumers POST each Delivery to. Empty means
	// messages are processed but delivered nowhere.
	DeliverTo string `json:"deliver_to"`
	// MaxBodyBytes bounds a POST /api/messages body (413 beyond),
	// 1..MaxMessageBytes.
	MaxBodyBytes int64 `json:"max_body_bytes"`
}

// DefaultConfig is one FIFO queue of 10 000 messages with no TTL, no
// backpressure and no surge lane, three delivery attempts and a dead-letter
// queue of 1 000.
func DefaultConfig() Config {
	return Config{
		Discipline:         FIFO,
		Capacity:           10000,
		AgeThreshold:       dist.Duration(time.Second),
		MaxDeliveries:      3,
		DeadLetterCapacity: 1000,
		RetryAfter:         dist.Duration(time.Second),
		Queues:             1,
		ShardSize:          1,
		MaxBodyBytes:       64 << 10,
	}
}

// Validate reports every field of c that is out of range, by its JSON name.
func (c Config) Validate() error {
	var errs []error
	if c.Discipline >= numDisciplines {
		errs = append(errs, fmt.Errorf("discipline: %d, want fifo, lifo or priority", c.Discipline))
	}
	if c.Capacity < 1 || c.Capacity > MaxCapacity {
		errs = append(errs, fmt.Errorf("capacity: %d, want 1..%d", c.Capacity, MaxCapacity))
	}
	if c.SurgeCapacity < 0 || c.SurgeCapacity > MaxCapacity {
		errs = append(errs, fmt.Errorf("surge_capacity: %d, want 0..%d", c.SurgeCapacity, MaxCapacity))
	}
	if time.Duration(c.AgeThreshold) > MaxAge || (c.AgeThreshold < 0 && c.Discipline != Priority) {
		errs = append(errs, fmt.Errorf("age_threshold: %v, want 0..%v", time.Duration(c.AgeThreshold), MaxAge))
	}
	if c.Discipline == Priority && c.AgeThreshold <= 0 {
		errs = append(errs, fmt.Errorf("age_threshold: %v, want > 0 with the priority discipline", time.Duration(c.AgeThreshold)))
	}
	if c.TTL < 0 || time.Duration(c.TTL) > MaxAge {
		errs = append(errs, fmt.Errorf("ttl: %v, want 0..%v (0: none)", time.Duration(c.TTL), MaxAge))
	}
	if c.MaxDeliveries < 1 || c.MaxDeliveries > MaxDeliveries {
		errs = append(errs, fmt.Errorf("max_deliveries: %d, want 1..%d", c.MaxDeliveries, MaxDeliveries))
	}
	if c.DeadLetterCapacity < 0 || c.DeadLetterCapacity > MaxCapacity {
		errs = append(errs, fmt.Errorf("dead_letter_capacity: %d, want 0..%d", c.DeadLetterCapacity, MaxCapacity))
	}
	if c.BackpressureDepth < 0 || c.BackpressureDepth > 2*MaxCapacity {
		errs = append(errs, fmt.Errorf("backpressure_depth: %d, want 0..%d (0: off)", c.BackpressureDepth, 2*MaxCapacity))
	}
	if c.BackpressureAge < 0 || time.Duration(c.BackpressureAge) > MaxAge {
		errs = append(errs, fmt.Errorf("backpressure_age: %v, want 0..%v (0: off)", time.Duration(c.BackpressureAge), MaxAge))
	}
	if c.RetryAfter < 0 || time.Duration(c.RetryAfter) > MaxRetryAfter {
		errs = append(errs, fmt.Errorf("retry_after: %v, want 0..%v", time.Duration(c.RetryAfter), MaxRetryAfter))
	}
	if c.Queues < 1 || c.Queues > MaxQueues {
		errs = append(errs, fmt.Errorf("queues: %d, want 1..%d", c.Queues, MaxQueues))
	}
	if c.ShardSize < 1 || c.ShardSize > MaxShardSize || c.ShardSize > c.Queues {
		errs = append(errs, fmt.Errorf("shard_size: %d, want 1..min(queues=%d, %d)", c.ShardSize, c.Queues, MaxShardSize))
	}
	if c.DeliverTo != "" && !strings.HasPrefix(c.DeliverTo, "http://") && !strings.HasPrefix(c.DeliverTo, "https://") {
		errs = append(errs, fmt.Errorf("deliver_to: %q, want an http:// or https:// URL", c.DeliverTo))
	}
	if c.MaxBodyBytes < 1 || c.MaxBodyBytes > MaxMessageBytes {
		errs = append(errs, fmt.Errorf("max_body_bytes: %d, want 1..%d", c.MaxBodyBytes, MaxMessageBytes))
	}
	return errors.Join(errs...)
}
