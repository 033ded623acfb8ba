package report

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/goodput-dev/goodput/results"
)

func TestErrorsMostFrequentFirstThenOther(t *testing.T) {
	var e errAcc
	add := func(text string, o results.Outcome, n int) {
		for range n {
			e.add(&results.Result{Outcome: o, Error: text})
		}
	}
	add("timeout", results.OutcomeClientTimeout, 5)
	add("connection refused", results.OutcomeConnError, 9)
	add("", results.OutcomeOK, 100) // answered: not counted
	for i := range 25 {
		add(fmt.Sprintf("rare %02d", i), results.OutcomeConnError, 1)
	}
	add(results.OtherError, results.OutcomeConnError, 2) // the writer's own past its bound
	got := e.list()
	if len(got) != maxErrorEntries+1 {
		t.Fatalf("%d entries, want %d and other: %+v", len(got), maxErrorEntries, got)
	}
	want := []ErrorCount{
		{Error: "connection refused", Outcome: "conn_error", Count: 9},
		{Error: "timeout", Outcome: "client_timeout", Count: 5},
		{Error: "rare 00", Outcome: "conn_error", Count: 1},
	}
	if !reflect.DeepEqual(got[:3], want) {
		t.Fatalf("first entries %+v, want %+v", got[:3], want)
	}
	// 25 rare - 18 listed = 7, plus the writer's 2 "other".
	if last := got[len(got)-1]; last != (ErrorCount{Error: "other", Outcome: "conn_error", Count: 9}) {
		t.Fatalf("last entry %+v", last)
	}
}

func TestErrorsNoneWithoutMessages(t *testing.T) {
	var e errAcc
	e.add(&results.Result{Outcome: results.OutcomeConnError})
	if got := e.list(); got != nil {
		t.Fatalf("got %+v, want none for records without error text", got)
	}
}

func BenchmarkErrorsAdd(b *testing.B) {
	var e errAcc
	r := results.Result{Outcome: results.OutcomeConnError, Error: "connection refused"}
	b.ReportAllocs()
	for b.Loop() {
		e.add(&r)
	}
}
