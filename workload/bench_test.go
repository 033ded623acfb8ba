package workload

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/goodput-dev/goodput/results"
	"github.com/goodput-dev/goodput/workload/retry"
)

// startBenchServer runs the test binary as a minimal HTTP server in its own
// process and returns its address.
func startBenchServer(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1", "GOMAXPROCS=2")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("bench server: %v", err)
	}
	return strings.TrimSpace(line)
}

// benchSink counts and measures what a results consumer would: the lag of
// first attempts and the outcomes, after encoding every record like a
// results file.
type benchSink struct {
	lag      *hdr.Histogram
	lat      *hdr.Histogram // latency of successful requests, µs
	lag0     *hdr.Histogram // lag of first attempts intended in the first second
	lat0     *hdr.Histogram // latency of those successful requests
	ok       int64
	dropped  int64
	requests int64
	other    int64
}

func (s *benchSink) WriteResult(r *results.Result) error {
	first := r.Intended < time.Second
	if r.Attempt == 1 {
		_ = s.lag.RecordValue(int64(max(0, r.Lag()) / time.Microsecond))
		if first {
			_ = s.lag0.RecordValue(int64(max(0, r.Lag()) / time.Microsecond))
		}
	}
	if r.Final {
		s.requests++
		switch r.Outcome {
		case results.OutcomeOK:
			s.ok++
			_ = s.lat.RecordValue(int64(r.Latency() / time.Microsecond))
			if first {
				_ = s.lat0.RecordValue(int64(r.Latency() / time.Microsecond))
			}
		case results.OutcomeGeneratorDropped:
			s.dropped++
		default:
			s.other++
		}
	}
	return nil
}

func (s *benchSink) WriteEvent(*results.Event) error { return nil }

// teeWriter writes each record to the encoder, then to the counter.
type teeWriter struct {
	enc   *results.Writer
	count *benchSink
}

func (t teeWriter) WriteResult(r *results.Result) error {
	if err := t.enc.WriteResult(r); err != nil {
		return err
	}
	return t.count.WriteResult(r)
}

func (t teeWriter) WriteEvent(e *results.Event) error { return t.enc.WriteEvent(e) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkAttackThroughput plays a constant rate against a minimal Go HTTP
// server in another process on 127.0.0.1 and reports achieved rate, lag p50
// and p99, latency p99, the lag and latency p99 of the first second alone
// (s0-…: where the generator's own warm-up would show), allocations (count and bytes) per request, CPU time and context
// switches per request of this process (user+sys; on a virtual machine most
// of the CPU time per request is spent switching threads), peak RSS and the
// peak heap and stack in use. Rates and length: GOODPUT_BENCH_RATES
// (comma-separated, default 5000,20000,40000) and GOODPUT_BENCH_SECONDS
// (default 3); the generator's caps: GOODPUT_BENCH_INFLIGHT (default 2000)
// and GOODPUT_BENCH_CONNECTIONS (default 200); its cores:
// GOODPUT_BENCH_PROCS (default ProcsAuto, as loadgen);
// GOODPUT_BENCH_CLIENT=net sends through net/http instead, for comparison.
func BenchmarkAttackThroughput(b *testing.B) {
	rates := []int{5000, 20000, 40000}
	if v := os.Getenv("GOODPUT_BENCH_RATES"); v != "" {
		rates = rates[:0]
		for _, f := range strings.Split(v, ",") {
			if r, err := strconv.Atoi(f); err == nil {
				rates = append(rates, r)
			}
		}
	}
	secs := envInt("GOODPUT_BENCH_SECONDS", 3)
	addr := startBenchServer(b)
	for _, rate := range rates {
		b.Run("rps="+strconv.Itoa(rate), func(b *testing.B) {
			for b.Loop() {
				benchAttack(b, addr, rate, time.Duration(secs)*time.Second)
			}
		})
	}
}

func benchAttack(b *testing.B, addr string, rate int, d time.Duration) {
	s, err := NewSchedule(Constant(d, float64(rate)))
	if err != nil {
		b.Fatal(err)
	}
	p := retry.Default()
	p.AttemptTimeout = 5 * time.Second
	r, err := New(Config{
		Schedule: s, Seed: 1, Mix: []Template{{URL: "http://" + addr + "/"}}, Retry: p,
		MaxInFlight: envInt("GOODPUT_BENCH_INFLIGHT", 2000),
		HTTP:        ClientOptions{Connections: envInt("GOODPUT_BENCH_CONNECTIONS", 200)},
		Procs:       envInt("GOODPUT_BENCH_PROCS", ProcsAuto),
	}.withBenchClient())
	if err != nil {
		b.Fatal(err)
	}
	newHist := func() *hdr.Histogram { return hdr.New(1, int64(time.Minute/time.Microsecond), 3) }
	counter := &benchSink{lag: newHist(), lat: newHist(), lag0: newHist(), lat0: newHist()}
	enc, err := results.NewWriter(io.Discard, results.Header{})
	if err != nil {
		b.Fatal(err)
	}
	stream := NewStream(teeWriter{enc, counter}, nil, 0)
	var peakStack, peakHeap uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stopSampling:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				peakStack = max(peakStack, ms.StackInuse)
				peakHeap = max(peakHeap, ms.HeapInuse)
			}
		}
	}()
	var before, after syscall.Rusage
	var msBefore, msAfter runtime.MemStats
	runtime.ReadMemStats(&msBefore)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	start := time.Now()
	if err := stream.Serve(func(sink Recorder) error { return r.Run(context.Background(), sink) }); err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	close(stopSampling)
	<-sampled
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	runtime.ReadMemStats(&msAfter)
	cpu := time.Duration(after.Utime.Nano()-before.Utime.Nano()) + time.Duration(after.Stime.Nano()-before.Stime.Nano())
	if counter.requests != int64(rate)*int64(d/time.Second) {
		b.Fatalf("%d requests recorded, want %d", counter.requests, int64(rate)*int64(d/time.Second))
	}
	b.ReportMetric(float64(counter.ok)/d.Seconds(), "ok-rps")
	b.ReportMetric(float64(counter.dropped)/float64(counter.requests)*100, "dropped-%")
	b.ReportMetric(float64(counter.lag.ValueAtQuantile(50))/1000, "lag-p50-ms")
	b.ReportMetric(float64(counter.lag.ValueAtQuantile(99))/1000, "lag-p99-ms")
	b.ReportMetric(float64(counter.lat.ValueAtQuantile(99))/1000, "p99-ms")
	// The first second: where the generator's warm-up would show.
	b.ReportMetric(float64(counter.lag0.ValueAtQuantile(99))/1000, "s0-lag-p99-ms")
	b.ReportMetric(float64(counter.lat0.ValueAtQuantile(99))/1000, "s0-p99-ms")
	b.ReportMetric(float64(cpu.Microseconds())/float64(counter.requests-counter.dropped), "cpu-µs/req")
	b.ReportMetric(float64(after.Nvcsw+after.Nivcsw-before.Nvcsw-before.Nivcsw)/float64(counter.requests-counter.dropped), "ctxsw/req")
	b.ReportMetric(float64(msAfter.Mallocs-msBefore.Mallocs)/float64(counter.requests), "allocs/req")
	b.ReportMetric(float64(msAfter.TotalAlloc-msBefore.TotalAlloc)/float64(counter.requests), "B/req")
	b.ReportMetric(float64(after.Maxrss)/1024, "maxrss-MB")
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(float64(peakStack)/(1<<20), "peak-stack-MB")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MB")
	if counter.other > 0 {
		b.Logf("%d requests failed", counter.other)
	}
}

func (c Config) withBenchClient() Config {
	if os.Getenv("GOODPUT_BENCH_CLIENT") == "net" {
		c.Client = NewHTTPClient(c.HTTP)
	}
	return c
}

// BenchmarkRecord measures the recording path from a worker's Record call
// to the encoder: copy into the channel, one draining goroutine, msgpack
// encoding (results.Writer to io.Discard) and the live counts.
func BenchmarkRecord(b *testing.B) {
	enc, err := results.NewWriter(io.Discard, results.Header{})
	if err != nil {
		b.Fatal(err)
	}
	s := NewStream(enc, NewLive(time.Second), 0)
	r := results.Result{RequestID: 1, Attempt: 1, Final: true, Route: "GET /", Tenant: "t1", Intended: time.Second, Start: time.Second + time.Microsecond, End: time.Second + time.Millisecond, Status: 200}
	b.ReportAllocs()
	err = s.Serve(func(sink Recorder) error {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				sink.Record(&r)
			}
		})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
