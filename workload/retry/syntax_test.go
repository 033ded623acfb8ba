package retry

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// The bounds that profiles checked before they used ParseBudget are the
// shared grammar's: a token bucket holds at least one token and a ratio
// budget's fraction is at most 1; a fraction of 0 leaves only the reserve.
func TestParseBudgetBounds(t *testing.T) {
	for _, s := range []string{"token:0.5,0.1", "token:10,0", "ratio:2", "ratio:0.1,-1", "ratio:0.1,5,1", "none:1", "ratio:NaN"} {
		_, err := ParseBudget(s)
		var se *SyntaxError
		if !errors.As(err, &se) || se.Text != s || !strings.Contains(se.Valid, "ratio:FRACTION[,MINPERSEC]") {
			t.Errorf("ParseBudget(%q) = %v, want a *SyntaxError giving the syntax", s, err)
		}
	}
	got, err := ParseBudget("ratio:0,5")
	if want := (BudgetSpec{Kind: BudgetRatio, MinPerSecond: 5, Window: defaultRatioWindow}); err != nil || got != want {
		t.Errorf("ParseBudget(ratio:0,5) = %+v, %v; want %+v", got, err, want)
	}
}

func TestParseRetryClassAndUnion(t *testing.T) {
	items := []string{"429", "5xx", "timeout", "conn"}
	var union RetryOn
	for _, it := range items {
		c, err := ParseRetryClass(it)
		if err != nil {
			t.Fatalf("ParseRetryClass(%q): %v", it, err)
		}
		if c.String() != it {
			t.Errorf("ParseRetryClass(%q).String() = %q", it, c.String())
		}
		union = union.Union(c)
	}
	whole, err := ParseRetryOn(strings.Join(items, ","))
	if err != nil || whole != union {
		t.Errorf("union of %v = %v, ParseRetryOn of the list = %v, %v", items, union, whole, err)
	}
	for _, bad := range []string{"429,503", "none", "", "6xx", "99"} {
		var se *SyntaxError
		if _, err := ParseRetryClass(bad); !errors.As(err, &se) {
			t.Errorf("ParseRetryClass(%q) = %v, want a *SyntaxError", bad, err)
		}
	}
}

func TestEnumSyntaxErrorListsChoices(t *testing.T) {
	_, err := ParseJitter("ful")
	var se *SyntaxError
	if !errors.As(err, &se) || !slices.Equal(se.Choices, []string{"none", "full", "equal", "decorrelated"}) {
		t.Fatalf("ParseJitter(ful) = %#v, want a *SyntaxError with the jitter names", err)
	}
	se.Choices[0] = "changed"
	if _, err := ParseJitter("none"); err != nil {
		t.Errorf("changing an error's Choices changed the grammar: %v", err)
	}
	if _, err := ParseBackoffKind("exponentail"); err == nil || err.Error() != `backoff "exponentail": valid are none, constant, exponential` {
		t.Errorf("ParseBackoffKind(exponentail) = %v", err)
	}
}

// What a parser accepts, it writes back (String) as text it parses to the
// same value: the flag spelling in results headers and the profile's YAML()
// read back unchanged.
func FuzzParseRoundTrip(f *testing.F) {
	for _, s := range []string{"none", "aws", "token:10,0.1", "ratio:0.1", "ratio:0.1,5", "ratio:0,5", "sre:2", "50ms", "p99.9", "429,5xx,timeout,conn", "4xx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if b, err := ParseBudget(s); err == nil {
			if again, err := ParseBudget(b.String()); err != nil || again != b {
				t.Errorf("budget %q → %q → %+v, %v; want %+v", s, b.String(), again, err, b)
			}
		}
		if th, err := ParseThrottle(s); err == nil {
			if again, err := ParseThrottle(th.String()); err != nil || again != th {
				t.Errorf("throttle %q → %q → %+v, %v; want %+v", s, th.String(), again, err, th)
			}
		}
		if h, err := ParseHedge(s); err == nil {
			if again, err := ParseHedge(h.String()); err != nil || again != h {
				t.Errorf("hedge %q → %q → %+v, %v; want %+v", s, h.String(), again, err, h)
			}
		}
		if r, err := ParseRetryOn(s); err == nil {
			if again, err := ParseRetryOn(r.String()); err != nil || again != r {
				t.Errorf("retry on %q → %q → %v, %v; want %v", s, r.String(), again, err, r)
			}
		}
	})
}
