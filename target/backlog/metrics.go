package backlog

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Collectors returns the Service's Prometheus collectors, to register on
// the server's /metrics registry:
//
//   - goodput_backlog_depth{queue,lane}: messages per queue and lane
//     (fresh, aged, surge)
//   - goodput_backlog_surge_depth: messages in all surge lanes
//   - goodput_backlog_oldest_age_seconds{queue}: age of each queue's
//     oldest message (0 when empty)
//   - goodput_backlog_dead_letter_depth: messages in the dead-letter queue
//   - goodput_backlog_messages_total{event}: accepted, surged, aged,
//     delivered, expired, dead_lettered, dropped, dead_letter_overrun,
//     delivery_failed (one failed attempt), report_failed (a non-delivery
//     report that could not be sent)
//   - goodput_backlog_rejected_total{reason}: backpressure, full
//   - goodput_backlog_delivery_age_seconds: histogram of delivered
//     messages' age
func (s *Service) Collectors() []prometheus.Collector {
	return []prometheus.Collector{statsCollector{s}, s.age}
}

var (
	depthDesc = prometheus.NewDesc("goodput_backlog_depth",
		"Messages waiting, per queue and lane.", []string{"queue", "lane"}, nil)
	surgeDesc = prometheus.NewDesc("goodput_backlog_surge_depth",
		"Messages waiting in all surge lanes.", nil, nil)
	oldestDesc = prometheus.NewDesc("goodput_backlog_oldest_age_seconds",
		"Age of the oldest waiting message, per queue (0 when empty).", []string{"queue"}, nil)
	deadDesc = prometheus.NewDesc("goodput_backlog_dead_letter_depth",
		"Messages in the dead-letter queue.", nil, nil)
	eventsDesc = prometheus.NewDesc("goodput_backlog_messages_total",
		"Messages by what happened to them.", []string{"event"}, nil)
	rejectedDesc = prometheus.NewDesc("goodput_backlog_rejected_total",
		"Messages refused at enqueue, by reason.", []string{"reason"}, nil)
)

// statsCollector reads a Backlog snapshot at scrape time.
type statsCollector struct{ s *Service }

var _ prometheus.Collector = statsCollector{}

func (c statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{depthDesc, surgeDesc, oldestDesc, deadDesc, eventsDesc, rejectedDesc} {
		ch <- d
	}
}

func (c statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.backlog.Stats(c.s.opts.Now())
	for i, q := range st.Queues {
		name := strconv.Itoa(i)
		for ln, d := range q.Depth {
			ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(d), name, Lane(ln).String())
		}
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, q.OldestAge.Seconds(), name)
	}
	ch <- prometheus.MustNewConstMetric(surgeDesc, prometheus.GaugeValue, float64(st.SurgeDepth))
	ch <- prometheus.MustNewConstMetric(deadDesc, prometheus.GaugeValue, float64(st.DeadLetterDepth))
	k := st.Counters
	for _, e := range []struct {
		name string
		v    uint64
	}{
		{"accepted", k.Accepted}, {"surged", k.Surged}, {"aged", k.Aged},
		{"delivered", c.s.delivered.Load()}, {"expired", k.Expired},
		{"dead_lettered", k.DeadLettered}, {"dropped", k.Dropped},
		{"dead_letter_overrun", k.DeadLetterOverrun},
		{"delivery_failed", c.s.deliveryFailures.Load()},
		{"report_failed", c.s.reportFailures.Load()},
	} {
		ch <- prometheus.MustNewConstMetric(eventsDesc, prometheus.CounterValue, float64(e.v), e.name)
	}
	ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(k.Backpressure), "backpressure")
	ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(k.Full), "full")
}
