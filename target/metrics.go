package target

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/goodput-dev/goodput/target/bulkhead"
	"github.com/goodput-dev/goodput/target/shed"
)

// metricPrefix starts every metric name of the target.
const metricPrefix = "goodput_target_"

// metrics are the target's Prometheus metrics, on a registry of its own
// (no global state). Safe for concurrent use.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // route, outcome
	duration  *prometheus.HistogramVec // route
	inFlight  *prometheus.GaugeVec     // route
	queueWait *prometheus.HistogramVec // queue
	shed      *prometheus.CounterVec   // reason
	wasted    *prometheus.CounterVec   // route
	tenants   *topK

	// Series resolved once: a labelled lookup hashes its label values on
	// every call, which the request path should not pay.
	routesMu   sync.Mutex
	routes     map[string]*routeMetrics
	other      *routeMetrics           // requests no route matched
	shedByWhy  [256]prometheus.Counter // by shed.Reason
	bulkheadBy map[error]prometheus.Counter
	queues     sync.Map // queue name → prometheus.Observer
}

// routeMetrics are one route's series.
type routeMetrics struct {
	name     string
	inFlight prometheus.Gauge
	duration prometheus.Observer
	wasted   prometheus.Counter
	outcomes [numOutcomes]prometheus.Counter
}

// route returns the series of route name, resolving them on first use.
func (m *metrics) route(name string) *routeMetrics {
	m.routesMu.Lock()
	defer m.routesMu.Unlock()
	if rm := m.routes[name]; rm != nil {
		return rm
	}
	rm := &routeMetrics{name: name, inFlight: m.inFlight.WithLabelValues(name),
		duration: m.duration.WithLabelValues(name), wasted: m.wasted.WithLabelValues(name)}
	for o := range rm.outcomes {
		rm.outcomes[o] = m.requests.WithLabelValues(name, outcomeNames[o])
	}
	m.routes[name] = rm
	return rm
}

// queueWaitOf returns the queue wait histogram of queue name.
func (m *metrics) queueWaitOf(name string) prometheus.Observer {
	if o, ok := m.queues.Load(name); ok {
		return o.(prometheus.Observer)
	}
	o, _ := m.queues.LoadOrStore(name, m.queueWait.WithLabelValues(name))
	return o.(prometheus.Observer)
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "requests_total",
			Help: "API requests answered, by route and outcome (ok, client_error, server_error, shed, throttled, timeout).",
		}, []string{"route", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricPrefix + "request_duration_seconds",
			Help:    "Time from arrival to the end of the handler, by route.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"route"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: metricPrefix + "in_flight",
			Help: "Requests in the service now, by route (concurrency; Little's law: arrival rate × latency).",
		}, []string{"route"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    metricPrefix + "queue_wait_seconds",
			Help:    "Time a request waited for admission, a bulkhead, a worker or a dependency slot, by queue.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"queue"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "shed_total",
			Help: "Requests refused cheaply, by reason (limit, queue_full, queue_timeout, codel, deadline, priority, tenant_throttle, bulkhead_full, bulkhead_timeout, canceled, retry).",
		}, []string{"reason"}),
		wasted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: metricPrefix + "wasted_requests_total",
			Help: "Requests that finished work (a dependency call, CPU work) after their client had gone or their deadline passed: work nobody waited for, by route.",
		}, []string{"route"}),
		tenants: newTopK(maxTenantLabels),
		routes:  map[string]*routeMetrics{},
	}
	m.reg.MustRegister(m.requests, m.duration, m.inFlight, m.queueWait, m.shed, m.wasted,
		&stateCollector{s: s},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Series that start at zero, so a run without any is visible as 0.
	for _, r := range shed.Reasons() {
		m.shedByWhy[r] = m.shed.WithLabelValues(r.String())
	}
	m.bulkheadBy = map[error]prometheus.Counter{
		bulkhead.ErrFull:        m.shed.WithLabelValues("bulkhead_full"),
		bulkhead.ErrWaitTimeout: m.shed.WithLabelValues("bulkhead_timeout"),
		nil:                     m.shed.WithLabelValues("canceled"),
	}
	for _, r := range routeNames {
		m.route(r)
	}
	m.other = m.route(routeOther)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// shedObserver counts admission decisions.
func (m *metrics) shedObserver() shed.Observer {
	wait := m.queueWaitOf("admission")
	return shed.Funcs{
		OnAdmitted: func(d time.Duration) { wait.Observe(d.Seconds()) },
		OnRejected: func(r shed.Reason) {
			if c := m.shedByWhy[r]; c != nil {
				c.Inc()
				return
			}
			m.shed.WithLabelValues(r.String()).Inc()
		},
	}
}

// bulkheadObserver counts bulkhead and worker decisions.
type bulkheadObserver struct{ m *metrics }

var _ bulkhead.Observer = bulkheadObserver{}

func (o bulkheadObserver) Acquired(pool string, wait time.Duration) {
	o.m.queueWaitOf(pool).Observe(wait.Seconds())
}

func (o bulkheadObserver) Rejected(_ string, err error) {
	c, ok := o.m.bulkheadBy[err]
	if !ok {
		c = o.m.bulkheadBy[nil] // the request's context ended
	}
	c.Inc()
}

// stateCollector reads gauges from the live state at scrape time: limits,
// dependency pools and the top tenants.
type stateCollector struct{ s *Server }

var (
	limitDesc = prometheus.NewDesc(metricPrefix+"limit",
		"Current concurrency limit of each limiter (admission, bulkheads, workers).", []string{"limiter"}, nil)
	admissionDesc = prometheus.NewDesc(metricPrefix+"admission_requests",
		"Requests admitted and running (state=in_flight) or waiting in the admission queue (state=queued).", []string{"state"}, nil)
	depInUseDesc = prometheus.NewDesc(metricPrefix+"dep_pool_in_use",
		"Dependency pool slots held.", []string{"dep"}, nil)
	depQueuedDesc = prometheus.NewDesc(metricPrefix+"dep_pool_queued",
		"Calls waiting for a dependency pool slot.", []string{"dep"}, nil)
	depSizeDesc = prometheus.NewDesc(metricPrefix+"dep_pool_size",
		"Dependency pool size.", []string{"dep"}, nil)
	depCallsDesc = prometheus.NewDesc(metricPrefix+"dep_calls_total",
		"Dependency calls finished.", []string{"dep"}, nil)
	depErrorsDesc = prometheus.NewDesc(metricPrefix+"dep_errors_total",
		"Dependency calls that failed.", []string{"dep"}, nil)
	depWastedDesc = prometheus.NewDesc(metricPrefix+"dep_wasted_calls_total",
		"Dependency calls that finished their work after the caller had gone (wasted work).", []string{"dep"}, nil)
	depWastedSecondsDesc = prometheus.NewDesc(metricPrefix+"dep_wasted_seconds_total",
		"Dependency slot time spent on calls whose caller had gone.", []string{"dep"}, nil)
	tenantDesc = prometheus.NewDesc(metricPrefix+"tenant_requests",
		"Requests of the top tenants since start (Space-Saving estimate: at most the true count plus the error of the slot it took; bounded to the top tenants).", []string{"tenant"}, nil)
)

// Describe sends nothing: the collector is unchecked, because bulkheads and
// tenants come and go with the configuration and the traffic.
func (c *stateCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, label)
	}
	counter := func(d *prometheus.Desc, v float64, label string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, label)
	}
	ch2 := c.s.chain.Load()
	if ch2.shedder != nil {
		gauge(limitDesc, float64(ch2.shedder.Limit()), "admission")
		gauge(admissionDesc, float64(ch2.shedder.InFlight()), "in_flight")
		gauge(admissionDesc, float64(ch2.shedder.Queued()), "queued")
	}
	for _, p := range ch2.pools() {
		gauge(limitDesc, float64(p.Capacity()), p.Name())
	}
	if ch2.workers != nil {
		gauge(limitDesc, float64(ch2.workers.Size()), "workers")
	}
	for _, d := range c.s.deps() {
		st := d.Stats()
		gauge(depInUseDesc, float64(st.InUse), st.Name)
		gauge(depQueuedDesc, float64(st.Queued), st.Name)
		gauge(depSizeDesc, float64(st.Size), st.Name)
		counter(depCallsDesc, float64(st.Calls), st.Name)
		counter(depErrorsDesc, float64(st.Errors), st.Name)
		counter(depWastedDesc, float64(st.Wasted), st.Name)
		counter(depWastedSecondsDesc, st.WastedTime.Seconds(), st.Name)
	}
	for _, t := range c.s.metrics.tenants.top() {
		gauge(tenantDesc, float64(t.count), t.name)
	}
}

// maxTenantLabels bounds the tenant label's cardinality.
const maxTenantLabels = 20

// maxTenantName bounds a tenant label's length.
const maxTenantName = 64

// topK estimates the most frequent tenants with the Space-Saving algorithm
// (Metwally et al.): k counters; a new name takes the smallest counter's
// place and inherits its count. Memory is O(k) whatever the number of
// tenants. Safe for concurrent use.
type topK struct {
	mu     sync.Mutex
	k      int
	counts map[string]uint64
}

type tenantCount struct {
	name  string
	count uint64
}

func newTopK(k int) *topK { return &topK{k: k, counts: make(map[string]uint64, k)} }

// add counts one request of tenant name ("" is shown as "(none)").
func (t *topK) add(name string) {
	if name == "" {
		name = "(none)"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.counts[name]; ok {
		t.counts[name]++
		return
	}
	if len(name) > maxTenantName {
		name = strings.Clone(name[:maxTenantName])
		if _, ok := t.counts[name]; ok {
			t.counts[name]++
			return
		}
	} else {
		name = strings.Clone(name)
	}
	if len(t.counts) < t.k {
		t.counts[name] = 1
		return
	}
	minName, minCount := "", uint64(0)
	for n, c := range t.counts {
		if minName == "" || c < minCount || (c == minCount && n < minName) {
			minName, minCount = n, c
		}
	}
	delete(t.counts, minName)
	t.counts[name] = minCount + 1
}

// top returns the tracked tenants, most frequent first.
func (t *topK) top() []tenantCount {
	t.mu.Lock()
	out := make([]tenantCount, 0, len(t.counts))
	for n, c := range t.counts {
		out = append(out, tenantCount{n, c})
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b tenantCount) int {
		if a.count != b.count {
			if a.count > b.count {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}
