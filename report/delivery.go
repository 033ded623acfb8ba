package report

import (
	"time"

	"github.com/goodput-dev/goodput/results"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Delivery summarises a run's asynchronous messages, from the records a
// delivery sink writes (Attempt 0, not Final, outcome delivered, expired,
// dead_lettered or undelivered): what async users felt. Ages and latencies
// are of delivered messages only, in milliseconds.
type Delivery struct {
	Delivered    int64 `json:"delivered"`     // messages that reached the sink
	Expired      int64 `json:"expired"`       // dropped by the service's TTL
	DeadLettered int64 `json:"dead_lettered"` // moved to the dead-letter queue
	Undelivered  int64 `json:"undelivered"`   // never arrived before the run (and its drain grace) ended
	// AgeMs is the age at delivery by the service's clock: delivery time −
	// enqueue time.
	AgeMs Latency `json:"age_ms"`
	// LatencyMs is from the request's intended start to the delivery's
	// arrival at the sink.
	LatencyMs Latency `json:"latency_ms"`
	// LastDeliveryS is when the last delivered, expired or dead-lettered
	// report arrived, from the run's start; 0 when none did.
	LastDeliveryS float64 `json:"last_delivery_s"`
	// DrainS is the time to drain the backlog: LastDeliveryS − duration_s
	// (the end of the load), 0 when the last report came before the end.
	// When Undelivered > 0 the backlog did not drain, and DrainS is only
	// how long it kept delivering.
	DrainS float64 `json:"drain_s"`
}

// deliveryAcc accumulates the run's async records.
type deliveryAcc struct {
	counts  [4]int64 // delivered, expired, dead_lettered, undelivered
	age     *hdr.Histogram
	latency *hdr.Histogram
	last    time.Duration
}

// asyncSlot returns the index of o in deliveryAcc.counts, or −1 when o is
// not an async outcome.
func asyncSlot(o results.Outcome) int {
	switch o {
	case results.OutcomeDelivered:
		return 0
	case results.OutcomeExpired:
		return 1
	case results.OutcomeDeadLettered:
		return 2
	case results.OutcomeUndelivered:
		return 3
	}
	return -1
}

// isDelivery reports whether r is a delivery sink's record.
func isDelivery(r *results.Result) bool {
	return r.Attempt == 0 && !r.Final && asyncSlot(r.Outcome) >= 0
}

// addDelivery folds in a delivery sink's record: counted in the run, and
// a delivered message's age in the window and phase of its request's
// intended start.
func (a *Aggregator) addDelivery(r *results.Result, ph *phaseAcc) {
	d := &a.delivery
	d.counts[asyncSlot(r.Outcome)]++
	if r.Outcome == results.OutcomeUndelivered {
		return
	}
	d.last = max(d.last, r.End)
	if r.Outcome != results.OutcomeDelivered {
		return
	}
	if d.age == nil {
		d.age, d.latency = newHist(), newHist()
	}
	age := micros(r.Age)
	_ = d.age.RecordValue(age)
	_ = d.latency.RecordValue(micros(r.Latency()))
	wi := a.windowIndex(r.Intended)
	w := a.window(wi)
	w.delivered++
	recordPacked(&w.age, age)
	if ph != nil {
		if ph.age == nil {
			ph.age = newHist()
		}
		_ = ph.age.RecordValue(age)
	}
}

// deliverySummary returns the Delivery of the run, nil when it had no
// async records. dur is the end of the load.
func (a *Aggregator) deliverySummary(dur time.Duration) *Delivery {
	d := &a.delivery
	c := d.counts
	if c[0]+c[1]+c[2]+c[3] == 0 {
		return nil
	}
	out := &Delivery{Delivered: c[0], Expired: c[1], DeadLettered: c[2], Undelivered: c[3]}
	if d.age != nil {
		out.AgeMs, out.LatencyMs = latencyOf(d.age), latencyOf(d.latency)
	}
	out.LastDeliveryS = d.last.Seconds()
	out.DrainS = max(0, d.last-dur).Seconds()
	return out
}
