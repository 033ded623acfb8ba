package faults

import "testing"

// upTo runs a timing-sensitive check up to n times on this shared, noisy
// machine and fails the test only when every try failed: a systematic
// fault fails all of them, a burst of load from other processes does not.
func upTo(t *testing.T, n int, check func() error) {
	t.Helper()
	for try := 1; ; try++ {
		err := check()
		if err == nil {
			return
		}
		t.Logf("try %d of %d: %v", try, n, err)
		if try == n {
			t.Fatalf("failed %d tries", n)
		}
	}
}
