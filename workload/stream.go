package workload

import (
	"errors"
	"fmt"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/goodput-dev/goodput/results"
)

// RecordWriter writes records to a results stream; *results.Writer is one.
// It need not be safe for concurrent use: Stream calls it from one goroutine.
type RecordWriter interface {
	WriteResult(r *results.Result) error
	WriteEvent(e *results.Event) error
}

var _ RecordWriter = (*results.Writer)(nil)

// item is a record in flight to the writer: a result, or an event.
type item struct {
	res results.Result
	ev  *results.Event
}

// Stream is the ready Recorder: Record copies the result into a buffered
// channel (no allocation) and one goroutine writes it to a RecordWriter and
// counts it in a Live aggregator. Record blocks when the buffer is full, so
// a slow writer slows the workers, never the schedule.
//
// Record and Event are safe for concurrent use while Serve runs, and must
// not be called after it returns. Build with NewStream.
type Stream struct {
	ch     chan item
	w      RecordWriter
	live   *Live
	failed chan struct{} // closed at the first write error
}

var _ Recorder = (*Stream)(nil)

// NewStream returns a Stream writing to w (nil: discard) and counting into
// live (nil: no live counts), buffering up to buffer records (0: 8192).
func NewStream(w RecordWriter, live *Live, buffer int) *Stream {
	if buffer <= 0 {
		buffer = 8192
	}
	return &Stream{ch: make(chan item, buffer), w: w, live: live, failed: make(chan struct{})}
}

// WriteFailed is closed when writing a record has failed (a full disk, a
// closed pipe): the records that follow can no longer be kept, and a
// caller should stop the load rather than go on measuring for nothing.
func (s *Stream) WriteFailed() <-chan struct{} { return s.failed }

// Record queues r for the writer.
func (s *Stream) Record(r *results.Result) { s.ch <- item{res: *r} }

// Event queues a copy of e for the writer.
func (s *Stream) Event(e *results.Event) {
	c := *e
	s.ch <- item{ev: &c}
}

// drainPeriod is how often the drain goroutine empties the buffer;
// flushEvery·drainPeriod how often it flushes the writer.
const (
	drainPeriod = 5 * time.Millisecond
	flushEvery  = 200
)

// Serve runs fn with the stream as its sink while one goroutine drains the
// records into the writer every 5 ms (calling its Flush method every
// second, if it has one); when fn returns it drains what is left, ends the
// stream by calling the writer's Close method, if it has one (a
// *results.Writer writes its end-of-run trailer: write nothing to it after
// Serve), and returns fn's error joined with the first write error. After a write error
// the records are still counted but no longer written.
func (s *Stream) Serve(fn func(Recorder) error) error {
	var werr error
	done := make(chan struct{})
	flusher, _ := s.w.(interface{ Flush() error })
	go func() {
		defer close(done)
		// The drain polls: it empties the buffer, then sleeps until the
		// next tick rather than parking on the channel, so that a worker's
		// Record never has to wake it (one wake-up per record costs more
		// than the record).
		tick := time.NewTicker(drainPeriod)
		defer tick.Stop()
		var it item // one for the whole stream: &it.res does not escape per record
		for n := 0; ; n++ {
			for {
				var ok bool
				select {
				case it, ok = <-s.ch:
				default:
					goto wait
				}
				if !ok {
					return
				}
				if s.w != nil && werr == nil {
					if it.ev != nil {
						werr = s.w.WriteEvent(it.ev)
					} else {
						werr = s.w.WriteResult(&it.res)
					}
					if werr != nil {
						close(s.failed)
					}
				}
				if it.ev != nil {
					continue
				}
				if s.live != nil {
					s.live.add(&it.res)
				}
			}
		wait:
			<-tick.C
			if n%flushEvery == 0 && flusher != nil && werr == nil {
				// Keep files current for tail -f and for readers after a
				// crash.
				if werr = flusher.Flush(); werr != nil {
					close(s.failed)
				}
			}
		}
	}()
	err := fn(s)
	close(s.ch)
	<-done
	if c, ok := s.w.(interface{ Close() error }); ok && werr == nil {
		werr = c.Close() // the stream ended normally: a results.Writer writes its trailer
	}
	if werr != nil {
		werr = fmt.Errorf("write results: %w", werr)
	}
	return errors.Join(err, werr)
}

// Live aggregates records as they stream, for the progress line: totals
// and the latency of the current window. Safe for concurrent use; the zero
// value is not usable, build with NewLive.
type Live struct {
	mu       sync.Mutex
	slo      time.Duration
	requests uint64            // final records
	attempts uint64            // records with Attempt ≥ 1
	good     uint64            // final ok within the SLO
	errors   uint64            // final, not ok
	answered uint64            // attempts answered with an HTTP status
	messages map[string]uint64 // attempts by Result.Error, at most results.MaxErrors messages
	window   *hdr.Histogram
	lastP99  time.Duration
}

// NewLive returns an aggregator counting successes within slo as goodput
// (slo 0: every success counts).
func NewLive(slo time.Duration) *Live {
	return &Live{slo: slo, window: hdr.New(1, int64(time.Hour/time.Microsecond), 3)}
}

func (l *Live) add(r *results.Result) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Attempt > 0 {
		l.attempts++
	}
	if r.Status != 0 {
		l.answered++
	}
	if r.Error != "" {
		if _, ok := l.messages[r.Error]; ok || len(l.messages) < results.MaxErrors {
			if l.messages == nil {
				l.messages = make(map[string]uint64)
			}
			l.messages[r.Error]++
		}
	}
	if !r.Final {
		return
	}
	l.requests++
	if r.Outcome != results.OutcomeOK {
		l.errors++
		return
	}
	lat := r.Latency()
	if l.slo == 0 || lat <= l.slo {
		l.good++
	}
	_ = l.window.RecordValue(max(1, int64(lat/time.Microsecond)))
}

// LiveCounts is a snapshot of a Live aggregator, a plain value.
type LiveCounts struct {
	Requests, Attempts, Good, Errors uint64
	// Answered counts the attempts answered with an HTTP status, whatever
	// it was.
	Answered uint64
	// TopError is the most frequent error message of failed attempts
	// (results.Result.Error), and TopErrorCount its attempts; "" and 0
	// when none failed with one.
	TopError      string
	TopErrorCount uint64
	// WindowP99 is the p99 latency of successful requests since the
	// previous Snapshot (the last one when none finished since).
	WindowP99 time.Duration
}

// Snapshot returns the counts and starts a new latency window.
func (l *Live) Snapshot() LiveCounts {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.window.TotalCount() > 0 {
		l.lastP99 = time.Duration(l.window.ValueAtQuantile(99)) * time.Microsecond
		l.window.Reset()
	}
	c := LiveCounts{Requests: l.requests, Attempts: l.attempts, Good: l.good, Errors: l.errors, Answered: l.answered, WindowP99: l.lastP99}
	for msg, n := range l.messages {
		if n > c.TopErrorCount || n == c.TopErrorCount && msg < c.TopError {
			c.TopError, c.TopErrorCount = msg, n
		}
	}
	return c
}
