package results

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestEachVisitsRecordsInOrderAndStopsOnError(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.WriteResult(&Result{RequestID: uint64(i)}); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if err := w.WriteEvent(&Event{Kind: EventNote, Name: "mid"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	read := func(onResult func(*Result) error, onEvent func(*Event) error) error {
		rd, err := NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return Each(context.Background(), rd, onResult, onEvent)
	}

	var seen []string
	err = read(func(r *Result) error { seen = append(seen, string(rune('0'+r.RequestID))); return nil },
		func(e *Event) error { seen = append(seen, e.Name); return nil })
	if err != nil || len(seen) != 6 || seen[3] != "mid" || seen[5] != "4" {
		t.Fatalf("Each = %v, saw %v; want 0 1 2 mid 3 4", err, seen)
	}

	n := 0
	if err := read(nil, func(*Event) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("events only: %v, %d events; want 1", err, n)
	}

	stop := errors.New("stop")
	n = 0
	err = read(func(*Result) error {
		if n++; n == 2 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || n != 2 {
		t.Fatalf("a callback's error: %v after %d results; want it returned at the 2nd", err, n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rd, _ := NewReader(bytes.NewReader(buf.Bytes()))
	if err := Each(ctx, rd, func(*Result) error { t.Fatal("read after ctx ended"); return nil }, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("ended ctx: %v, want context.Canceled", err)
	}
}

// TestEachStopsItsReaderEarly: a callback's error and an ended context
// stop Each within a long stream, and the goroutine that decodes ahead
// ends with it (TestMain checks that none is left).
func TestEachStopsItsReaderEarly(t *testing.T) {
	const records = 3*checkEvery/2 + 7
	var buf bytes.Buffer
	w, err := NewWriter(&buf, testHeader())
	if err != nil {
		t.Fatal(err)
	}
	for i := range records {
		if err := w.WriteResult(&Result{RequestID: uint64(i), Route: "GET /a"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	reader := func() *Reader {
		rd, err := NewReader(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		return rd
	}

	var seen uint64
	err = Each(context.Background(), reader(), func(r *Result) error {
		if r.RequestID != seen {
			t.Fatalf("record %d came as number %d", r.RequestID, seen)
		}
		seen++
		return nil
	}, nil)
	if err != nil || seen != records {
		t.Fatalf("whole stream: %v after %d records; want all %d", err, seen, records)
	}

	stop := errors.New("stop")
	seen = 0
	err = Each(context.Background(), reader(), func(*Result) error {
		if seen++; seen == 1000 {
			return stop
		}
		return nil
	}, nil)
	if !errors.Is(err, stop) || seen != 1000 {
		t.Fatalf("a callback's error: %v after %d records; want it at the 1000th", err, seen)
	}

	ctx, cancel := context.WithCancel(context.Background())
	seen = 0
	err = Each(ctx, reader(), func(*Result) error {
		if seen++; seen == 10 {
			cancel()
		}
		return nil
	}, nil)
	if !errors.Is(err, context.Canceled) || seen != checkEvery {
		t.Fatalf("ended context: %v after %d records; want context.Canceled at record %d", err, seen, checkEvery)
	}
}
