package report

// A successful request that finished after the SLO is late: it is neither
// goodput nor a failure, and every report shows the three side by side
// (DESIGN.md: "late is not good"). Requests that did not end ok are failed.

// addOK counts one request that ended ok: as goodput when it met the SLO,
// as late otherwise.
func (t *tally) addOK(good bool) {
	if good {
		t.good++
	} else {
		t.late++
	}
}

// failedRPS is the rate of requests that did not end ok: offered − goodput
// − late, never below 0 (rounding).
func failedRPS(offered, goodput, late float64) float64 {
	return max(0, offered-goodput-late)
}

// failedRatio is the share of requests that did not end ok: 1 − goodput
// ratio − late ratio, 0 when there were no requests.
func failedRatio(goodput, late float64, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return max(0, 1-goodput-late)
}
