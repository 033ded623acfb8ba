package cli

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestCodeAndExit(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code int
		out  string
	}{
		{nil, ExitOK, ""},
		{ErrHelp, ExitOK, ""},
		{fmt.Errorf("attack: %w", ErrHelp), ExitOK, ""},
		{Usagef("--rate %d: must be ≥ 0", -1), ExitUsage, "loadgen: --rate -1: must be ≥ 0\n"},
		{fmt.Errorf("wrapped: %w", Usagef("bad")), ExitUsage, "loadgen: wrapped: bad\n"},
		{Runf("unreachable"), ExitRun, "loadgen: unreachable\n"},
		{Assertion(errors.New("2 assertion(s) failed")), ExitAssertion, "loadgen: 2 assertion(s) failed\n"},
		{errors.New("anything else"), ExitRun, "loadgen: anything else\n"},
	} {
		var stderr bytes.Buffer
		if got := Exit("loadgen", tt.err, &stderr); got != tt.code || stderr.String() != tt.out {
			t.Errorf("Exit(%v) = %d, printed %q; want %d, %q", tt.err, got, stderr.String(), tt.code, tt.out)
		}
	}
}
