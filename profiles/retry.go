package profiles

import (
	"errors"
	"strings"

	"github.com/goodput-dev/goodput/workload/retry"
)

// The client's retry values are the types of package retry, which owns
// client behaviour, wrapped only to be profile scalars: each is parsed by
// that package's parser, the one behind the loadgen flag of the same name,
// so a profile and the flag accept the same text and give the same value.

// Backoff is the kind of delay between attempts (retry.BackoffKind).
type Backoff struct{ retry.BackoffKind }

func (b *Backoff) parse(text, _ string) error {
	k, err := retry.ParseBackoffKind(text)
	if err != nil {
		return wantOf(text, err)
	}
	b.BackoffKind = k
	return nil
}

func (Backoff) syntax() string { return enumSyntax(retry.BackoffKinds()) }

// Jitter is the randomisation applied to a backoff delay (retry.Jitter).
type Jitter struct{ retry.Jitter }

func (j *Jitter) parse(text, _ string) error {
	v, err := retry.ParseJitter(text)
	if err != nil {
		return wantOf(text, err)
	}
	j.Jitter = v
	return nil
}

func (Jitter) syntax() string { return enumSyntax(retry.Jitters()) }

// RetryClass is an outcome that clients retry: a status code ("503"), a
// status class ("5xx"), "timeout" or "conn"; the set of one class
// (retry.ParseRetryClass). A list of them is their union (RetryOn).
type RetryClass struct{ retry.RetryOn }

func (c *RetryClass) parse(text, _ string) error {
	r, err := retry.ParseRetryClass(text)
	if err != nil {
		return wantOf(text, err)
	}
	c.RetryOn = r
	return nil
}

func (RetryClass) syntax() string { return "status (`503`), class (`5xx`), `timeout` or `conn`" }

// RetryOn returns the union of classes: the outcomes a client retries.
func RetryOn(classes []RetryClass) retry.RetryOn {
	var r retry.RetryOn
	for _, c := range classes {
		r = r.Union(c.RetryOn)
	}
	return r
}

// retryClasses returns the classes of a built-in default; it panics on a
// class that does not parse, a mistake in this package.
func retryClasses(items ...string) []RetryClass {
	out := make([]RetryClass, len(items))
	for i, it := range items {
		if err := out[i].parse(it, tagStr); err != nil {
			panic("profiles: default retry class " + it + ": " + err.Error())
		}
	}
	return out
}

// Budget is a retry budget (retry.BudgetSpec), written as the
// --retry-budget flag.
type Budget struct{ retry.BudgetSpec }

func (b *Budget) parse(text, _ string) error {
	v, err := retry.ParseBudget(text)
	if err != nil {
		return wantOf(text, err)
	}
	b.BudgetSpec = v
	return nil
}

func (Budget) syntax() string {
	return "`none`, `token:MAX,RATIO`, `aws` or `ratio:FRACTION[,MINPERSEC]`"
}

// Throttle is client-side adaptive throttling (retry.ThrottleSpec),
// written as the --throttle flag.
type Throttle struct{ retry.ThrottleSpec }

func (t *Throttle) parse(text, _ string) error {
	v, err := retry.ParseThrottle(text)
	if err != nil {
		return wantOf(text, err)
	}
	t.ThrottleSpec = v
	return nil
}

func (Throttle) syntax() string { return "`none` or `sre:K` (K ≥ 1)" }

// Hedge is when a hedged second attempt is sent (retry.HedgeSpec), written
// as the --hedge-after flag. The zero value is no hedging.
type Hedge struct{ retry.HedgeSpec }

func (h *Hedge) parse(text, _ string) error {
	v, err := retry.ParseHedge(text)
	if err != nil {
		return wantOf(text, err)
	}
	h.HedgeSpec = v
	return nil
}

func (Hedge) syntax() string { return "delay (`100ms`) or percentile (`p95`)" }

// wantOf turns an error of package retry's parsers into a profile error
// completing "found TEXT, …": the reason and what would be valid, with a
// did-you-mean hint among a fixed set of words.
func wantOf(text string, err error) error {
	var se *retry.SyntaxError
	switch {
	case !errors.As(err, &se):
		return err
	case se.Choices != nil:
		return parseEnum(text, se.Choices)
	}
	var b strings.Builder
	if se.Why != "" {
		b.WriteString(se.Why + "; ")
	}
	b.WriteString("want " + se.Valid)
	return wantError(b.String())
}
