package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/goodput-dev/goodput/results"
)

// asyncRun is a 4 s run of 10 messages a second in two phases, "load"
// and "after": each request's 202 and, from a delivery sink, its delivery
// with an age of 10 ms in the first phase and 900 ms in the second, then
// one expired, one dead-lettered and two undelivered messages. The last
// delivery arrives at 5.5 s.
func asyncRun() (results.Header, []results.Result) {
	h := results.Header{Version: results.FormatVersion, Label: "async", Seed: 1, Phases: []results.PhaseInfo{
		{Name: "load", Offset: 0, Duration: 2 * time.Second, FromRPS: 10, ToRPS: 10},
		{Name: "after", Offset: 2 * time.Second, Duration: 2 * time.Second, FromRPS: 10, ToRPS: 10},
	}}
	var recs []results.Result
	for i := range 40 {
		intended := time.Duration(i) * 100 * time.Millisecond
		phase := uint16(i / 20)
		base := results.Result{RequestID: uint64(i + 1), Phase: phase, Route: "POST /api/messages", Intended: intended}
		req := base
		req.Attempt, req.Final, req.Start, req.End, req.Status, req.Outcome = 1, true, intended, intended+time.Millisecond, 202, results.OutcomeOK
		recs = append(recs, req)
		d := base
		d.Outcome, d.Age = results.OutcomeDelivered, 10*time.Millisecond
		if phase == 1 {
			d.Age = 900 * time.Millisecond
		}
		d.End = intended + d.Age + 5*time.Millisecond
		d.Start = d.End - d.Age
		switch i {
		case 36:
			d.Outcome, d.Age = results.OutcomeExpired, 3*time.Second
		case 37:
			d.Outcome = results.OutcomeDeadLettered
		case 38, 39:
			d.Outcome, d.Age, d.End = results.OutcomeUndelivered, 0, 6*time.Second
			d.Start = d.End
		case 35:
			d.End = 5500 * time.Millisecond
		}
		recs = append(recs, d)
	}
	return h, recs
}

func TestDeliverySummary(t *testing.T) {
	h, recs := asyncRun()
	a := NewAggregator(Options{})
	if err := a.AddHeader(h); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		a.AddResult(&recs[i])
	}
	s := a.Summary()
	d := s.Delivery
	if d == nil {
		t.Fatal("no delivery section")
	}
	if d.Delivered != 36 || d.Expired != 1 || d.DeadLettered != 1 || d.Undelivered != 2 {
		t.Errorf("counts %+v, want 36 delivered, 1 expired, 1 dead-lettered, 2 undelivered", *d)
	}
	if s.Requests != 40 || s.Outcomes["ok"] != 40 {
		t.Errorf("requests %d (ok %d): deliveries must not count as requests", s.Requests, s.Outcomes["ok"])
	}
	// 20 ages of 10 ms and 16 of 900 ms.
	if !near(d.AgeMs.P50, 10) || !near(d.AgeMs.P99, 900) || !near(d.AgeMs.Max, 900) {
		t.Errorf("age p50 %v p99 %v max %v, want 10, 900, 900", d.AgeMs.P50, d.AgeMs.P99, d.AgeMs.Max)
	}
	if !(d.AgeMs.P50 <= d.AgeMs.P90 && d.AgeMs.P90 <= d.AgeMs.P99 && d.AgeMs.P99 <= d.AgeMs.Max) {
		t.Errorf("age percentiles out of order: %+v", d.AgeMs)
	}
	if d.LatencyMs.P50 < d.AgeMs.P50 || d.LatencyMs.Max < 1400 {
		t.Errorf("latency from intended start %+v: want at least the age (and 5.5 s − 3.5 s for the late one)", d.LatencyMs)
	}
	if !near(d.LastDeliveryS, 5.5) || !near(d.DrainS, 1.5) {
		t.Errorf("last delivery %vs, drain %vs, want 5.5 and 1.5 (the undelivered do not count)", d.LastDeliveryS, d.DrainS)
	}

	if len(s.Windows) != 4 {
		t.Fatalf("%d windows, want 4: deliveries count in their request's window", len(s.Windows))
	}
	for i, want := range []float64{10, 10, 900, 900} {
		if w := s.Windows[i]; !near(w.DeliveryAgeP99Ms, want) {
			t.Errorf("window %d age p99 %v, want %v", i, w.DeliveryAgeP99Ms, want)
		}
	}
	if s.Windows[0].Delivered != 10 || s.Windows[3].Delivered != 6 {
		t.Errorf("delivered per window %d, %d, want 10, 6", s.Windows[0].Delivered, s.Windows[3].Delivered)
	}
	if p := s.Phases; p[0].DeliveryAgeMs == nil || p[1].DeliveryAgeMs == nil || !near(p[0].DeliveryAgeMs.P99, 10) || !near(p[1].DeliveryAgeMs.P50, 900) {
		t.Errorf("phase ages %+v, %+v", p[0].DeliveryAgeMs, p[1].DeliveryAgeMs)
	}

	var text bytes.Buffer
	if err := WriteText(&text, s, TextOptions{Windows: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"deliveries (async messages)  36 delivered, 1 expired, 1 dead-lettered, 2 undelivered; last 5.5s, drain 1.5s",
		"age at delivery", "from intended start", "age p99 ms"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"delivery":{"delivered":36,`, `"age_ms":{"p50":`, `"drain_s":1.5`, `"delivery_age_p99_ms":`, `"delivery_age_ms":{`} {
		if !bytes.Contains(b, []byte(key)) {
			t.Errorf("JSON lacks %s", key)
		}
	}
}

// A run without async records has no delivery keys at all.
func TestNoDeliveryWithoutAsyncRecords(t *testing.T) {
	h, recs := asyncRun()
	a := NewAggregator(Options{})
	if err := a.AddHeader(h); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if !isDelivery(&recs[i]) {
			a.AddResult(&recs[i])
		}
	}
	s := a.Summary()
	if s.Delivery != nil {
		t.Errorf("delivery %+v, want none", *s.Delivery)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"delivery`)) {
		t.Errorf("JSON mentions deliveries: %s", b)
	}
}

// near reports whether got is within 0.5% (the histograms' precision,
// with room) of want.
func near(got, want float64) bool {
	d := got - want
	return d <= 0.005*want && d >= -0.005*want
}

// BenchmarkAddDelivery folds in one delivery sink record (delivered, in
// one of 60 windows).
func BenchmarkAddDelivery(b *testing.B) {
	h, _ := asyncRun()
	a := NewAggregator(Options{})
	if err := a.AddHeader(h); err != nil {
		b.Fatal(err)
	}
	r := results.Result{RequestID: 1, Outcome: results.OutcomeDelivered, Age: 25 * time.Millisecond}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Intended = time.Duration(i%60000) * time.Millisecond
		r.End = r.Intended + r.Age + time.Millisecond
		a.AddResult(&r)
	}
}
