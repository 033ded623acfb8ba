package retry

import (
	"fmt"
	"slices"
	"strings"
)

// SyntaxError is a value of this package's flag and profile grammar that
// does not parse (ParseBudget, ParseThrottle, ParseHedge, ParseRetryOn,
// ParseRetryClass, ParseBackoffKind, ParseJitter). Callers add where the
// value came from (a flag, a profile field at a line); the error says what
// was written and what would be valid.
type SyntaxError struct {
	What    string   // the concept, e.g. "retry budget"
	Text    string   // the value as written
	Why     string   // what is wrong with it, when more than "not valid"; may be empty
	Valid   string   // the valid syntax, with examples
	Choices []string // the valid words when the value is one of a fixed set; nil otherwise
}

// Error returns `WHAT "TEXT": WHY (valid: VALID)`, or without a reason
// `WHAT "TEXT": valid are VALID`.
func (e *SyntaxError) Error() string {
	if e.Why == "" {
		return fmt.Sprintf("%s %q: valid are %s", e.What, e.Text, e.Valid)
	}
	return fmt.Sprintf("%s %q: %s (valid: %s)", e.What, e.Text, e.Why, e.Valid)
}

// enumError is the SyntaxError of a value that is none of choices.
func enumError(what, text string, choices []string) *SyntaxError {
	return &SyntaxError{What: what, Text: text, Valid: strings.Join(choices, ", "), Choices: slices.Clone(choices)}
}
