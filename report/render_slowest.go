package report

import (
	"strconv"
	"strings"
)

// writeSlowest writes the slowest requests' traces: one line a request,
// then one line an attempt, times in ms from the request's intended start.
func (t *textWriter) writeSlowest(reqs []SlowRequest, color bool) {
	if len(reqs) == 0 {
		return
	}
	t.printf("\nslowest requests (ms from each request's intended start; wait = gap since the previous attempt ended)\n")
	for i, r := range reqs {
		t.printf("  #%d %s\n", i+1, slowHeadline(r))
		rows := [][]cell{{plain("  attempt"), plain("start"), plain("end"), plain("wait"), plain("status"), plain("outcome"), plain("queue"), plain("app"), plain("dep")}}
		for _, a := range r.Attempts {
			row := []cell{plain("  %d", a.Attempt), plain("%s", fmtMs(a.StartMs)), plain("%s", fmtMs(a.EndMs)), plain("%s", fmtMs(a.WaitMs)),
				plain("%s", statusText(a.Status)), plain("%s", a.Outcome)}
			if st := a.ServerTiming; st != nil {
				row = append(row, plain("%s", fmtMs(st.Queue)), plain("%s", fmtMs(st.App)), plain("%s", fmtMs(st.Dep)))
			} else {
				row = append(row, plain("-"), plain("-"), plain("-"))
			}
			rows = append(rows, row)
		}
		t.table(rows, color)
	}
}

// slowHeadline describes a traced request in one line.
func slowHeadline(r SlowRequest) string {
	var b strings.Builder
	b.WriteString("request " + uintText(r.RequestID))
	if r.Route != "" {
		b.WriteString(" " + r.Route)
	}
	if r.Tenant != "" {
		b.WriteString(" tenant " + r.Tenant)
	}
	b.WriteString(": " + fmtDur(r.LatencyMs) + ", " + r.Outcome + " after " + plural(r.AttemptsMade, "attempt") + ", intended at " + strconv.FormatFloat(r.IntendedS, 'f', 3, 64) + "s")
	if r.Incomplete {
		b.WriteString(" (not every attempt was kept)")
	}
	return b.String()
}

// statusText is an HTTP status, or "-" when there was no answer.
func statusText(code int) string {
	if code == 0 {
		return "-"
	}
	return strconv.Itoa(code)
}

func uintText(n uint64) string { return strconv.FormatUint(n, 10) }

// plural writes n and the noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
