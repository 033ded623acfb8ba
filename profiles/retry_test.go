package profiles

import (
	"reflect"
	"testing"

	"github.com/goodput-dev/goodput/workload/retry"
)

// Profiles refused ratio:FRACTION,MINPERSEC, which --retry-budget accepts:
// a profile now parses it with the flag's parser (issue #13), and writes it
// back as it was written.
func TestProfileAcceptsRatioBudgetWithMinPerSecond(t *testing.T) {
	s := resolveOne(t, "testdata/valid.yaml", Options{Set: []string{"client.retry_budget=ratio:0.1,5"}})
	want, err := retry.ParseBudget("ratio:0.1,5")
	if err != nil {
		t.Fatal(err)
	}
	if s.Client.RetryBudget.BudgetSpec != want {
		t.Fatalf("retry_budget = %+v, want %+v", s.Client.RetryBudget.BudgetSpec, want)
	}
	again := reparse(t, s)
	if again.Client.RetryBudget != s.Client.RetryBudget {
		t.Errorf("retry_budget after YAML round trip = %v, want %v", again.Client.RetryBudget, s.Client.RetryBudget)
	}
}

// Every client retry value survives YAML(), including the zero values
// (backoff none, jitter none) that a plain integer kind would have left out.
func TestClientRetryValuesRoundTrip(t *testing.T) {
	s := resolveOne(t, "testdata/valid.yaml", Options{Set: []string{
		"client.retry_on=[503, 4xx, conn]",
		"client.backoff=none",
		"client.jitter=none",
		"client.retry_budget=token:10,0.1",
		"client.throttle=sre:2",
		"client.hedge_after=p99.5",
	}})
	if got := RetryOn(s.Client.RetryOn).String(); got != "4xx,503,conn" {
		t.Errorf("RetryOn = %q, want 4xx,503,conn", got)
	}
	again := reparse(t, s)
	if !reflect.DeepEqual(again.Client, s.Client) {
		t.Errorf("client after YAML round trip = %+v, want %+v", again.Client, s.Client)
	}
}

func reparse(t *testing.T, s *Scenario) *Scenario {
	t.Helper()
	d, err := Parse("roundtrip.yaml", "testdata", s.YAML())
	if err != nil {
		t.Fatalf("reparse: %v\n%s", err, s.YAML())
	}
	runs, err := d.Resolve(Options{})
	if err != nil || len(runs) != 1 {
		t.Fatalf("resolve again: %d runs, %v", len(runs), err)
	}
	return runs[0].Scenario
}
