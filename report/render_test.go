package report

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./report -update after checking the change):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// goldenSummary is the summary of the fixed synthetic run.
func goldenSummary(t *testing.T) *Summary {
	return aggregate(t, Options{}, syntheticFile(t, 1))
}

func TestGoldenText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, goldenSummary(t), TextOptions{Windows: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "\x1b[") {
		t.Fatal("plain text output contains ANSI escapes")
	}
	golden(t, "golden.txt", buf.Bytes())
}

func TestTextColorOnlyWhenAsked(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, goldenSummary(t), TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ansiRed) && !strings.Contains(buf.String(), ansiGreen) {
		t.Fatal("coloured output has no colour")
	}
}

func TestGoldenJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, goldenSummary(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "golden.json", buf.Bytes())
}

func TestGoldenCSV(t *testing.T) {
	s := goldenSummary(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := len(s.Windows) + 1 // a row per window, and one per route with a request in it
	for _, w := range s.Windows {
		want += len(w.ByRoute)
	}
	if len(rows) != want || len(rows[0]) != len(CSVHeader()) {
		t.Fatalf("%d rows of %d columns, want %d rows of %d", len(rows), len(rows[0]), want, len(CSVHeader()))
	}
	golden(t, "golden.csv", buf.Bytes())
}

func TestGoldenHgrm(t *testing.T) {
	s := goldenSummary(t)
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "1/(1-Percentile)") || !strings.Contains(buf.String(), "#[Max") {
		t.Fatalf("not a percentile distribution:\n%s", buf.String())
	}
	golden(t, "golden.hgrm", buf.Bytes())
}

func TestHlogReadsBackWithHdrHistogram(t *testing.T) {
	s := goldenSummary(t)
	var buf bytes.Buffer
	if err := WriteHlog(&buf, s); err != nil {
		t.Fatal(err)
	}
	lr := hdr.NewHistogramLogReader(&buf)
	var total int64
	n := 0
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		w := s.Windows[n]
		if h.TotalCount() != countOf(w.LatencyHistogram()) {
			t.Fatalf("interval %d holds %d values, window %d", n, h.TotalCount(), countOf(w.LatencyHistogram()))
		}
		if h.TotalCount() > 0 {
			got := float64(h.ValueAtPercentile(99)) / 1e6
			if math.Abs(got-w.Latency.P99) > w.Latency.P99*0.002 {
				t.Fatalf("interval %d p99 %vms, window p99 %vms", n, got, w.Latency.P99)
			}
		}
		if wantStart := int64(s.Start.UnixMilli()) + int64(w.StartS*1000); h.StartTimeMs() != wantStart {
			t.Fatalf("interval %d starts at %d ms, want %d", n, h.StartTimeMs(), wantStart)
		}
		total += h.TotalCount()
		n++
	}
	if n != len(s.Windows) || total != s.LatencyHistogram().TotalCount() {
		t.Fatalf("read %d intervals with %d values, want %d with %d", n, total, len(s.Windows), s.LatencyHistogram().TotalCount())
	}
}

func TestWriteFormatRefusesUnknown(t *testing.T) {
	err := WriteFormat(io.Discard, "xml", goldenSummary(t), TextOptions{})
	if err == nil || !strings.Contains(err.Error(), "valid: text, json") {
		t.Fatalf("err = %v", err)
	}
}

func TestRenderersReportWriteErrors(t *testing.T) {
	s := goldenSummary(t)
	for _, f := range Formats() {
		err := WriteFormat(&failingWriter{n: 10}, f, s, TextOptions{})
		if !errors.Is(err, errDiskFull) {
			t.Errorf("%s: err = %v, want the write error", f, err)
		}
	}
}

func countOf(p *hdr.PackedHistogram) int64 {
	if p == nil {
		return 0
	}
	return p.TotalCount()
}

// FuzzReport feeds arbitrary streams through the whole report path: read,
// aggregate, analyse-free summary, every renderer. It must never panic.
func FuzzReport(f *testing.F) {
	f.Add(syntheticFile(f, 1)[:4000])
	h, recs := syntheticRun(2)
	data, _ := encodeStream(f, h, recs[:40])
	f.Add(data)
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := results.NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		a := NewAggregator(Options{Window: 10 * time.Second, maxWindows: 100})
		if err := a.AddHeader(rd.Header()); err != nil {
			return
		}
		if err := ReadInto(context.Background(), a, rd); err != nil {
			return
		}
		s := a.Summary()
		for _, format := range Formats() {
			if err := WriteFormat(io.Discard, format, s, TextOptions{Windows: true}); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
		}
	})
}
