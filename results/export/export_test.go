package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/results"
)

var start = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func header() results.Header {
	return results.Header{Label: `shed "on", LIFO`, Start: start, Shard: results.ShardInfo{Index: 2, Count: 4},
		Phases: []results.PhaseInfo{{Name: "baseline"}, {Name: "surge\nx"}}}
}

func record() results.Result {
	return results.Result{
		RequestID: 42, Attempt: 2, Phase: 1, Final: true, Route: `GET /a?q="x",y`, Tenant: "tenant-ü",
		Intended: 1500 * time.Millisecond, Start: 1600 * time.Millisecond, End: 1750*time.Millisecond + 3,
		Status: 503, Outcome: results.OutcomeShed, BytesOut: 10, BytesIn: 20,
		Timing: results.ServerTiming{Queue: time.Millisecond, App: 2 * time.Millisecond, Dep: 3 * time.Millisecond},
	}
}

func write(t *testing.T, f Format, recs ...results.Result) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf, f)
	require.NoError(t, err)
	require.NoError(t, w.SetHeader(header()))
	for i := range recs {
		require.NoError(t, w.Write(&recs[i]))
	}
	require.NoError(t, w.Flush())
	return buf.String()
}

func TestJSONLHasEveryFieldOfTheRecord(t *testing.T) {
	out := write(t, JSONL, record())
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	assert.Len(t, got, len(Columns()))
	want := map[string]any{
		"run": `shed "on", LIFO`, "shard": 2.0, "request_id": 42.0, "attempt": 2.0, "phase": "surge\nx", "final": true,
		"route": `GET /a?q="x",y`, "tenant": "tenant-ü",
		"intended": "2026-12-05T12:00:01.5Z", "start": "2026-12-05T12:00:01.6Z", "end": "2026-12-05T12:00:01.750000003Z",
		"intended_ns": 1.5e9, "start_ns": 1.6e9, "end_ns": 1.750000003e9, "latency_ns": 250000003.0,
		"status": 503.0, "outcome": "shed", "bytes_out": 10.0, "bytes_in": 20.0,
		"queue_ns": 1e6, "app_ns": 2e6, "dep_ns": 3e6, "age_ns": 0.0,
		"error": "",
	}
	assert.Equal(t, want, got)
}

func TestCSVQuotesLabelsAndKeepsColumnOrder(t *testing.T) {
	out := write(t, CSV, record(), record())
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	require.NoError(t, err, out)
	require.Len(t, rows, 3)
	assert.Equal(t, Columns(), rows[0])
	row := map[string]string{}
	for i, c := range rows[0] {
		row[c] = rows[1][i]
	}
	assert.Equal(t, `shed "on", LIFO`, row["run"])
	assert.Equal(t, `GET /a?q="x",y`, row["route"])
	assert.Equal(t, "surge\nx", row["phase"])
	assert.Equal(t, "2026-12-05T12:00:01.750000003Z", row["end"])
	assert.Equal(t, "250000003", row["latency_ns"])
	assert.Equal(t, "shed", row["outcome"])
	assert.Equal(t, rows[1], rows[2])
}

func TestAPhaseTheHeaderDoesNotNameIsItsIndex(t *testing.T) {
	r := record()
	r.Phase = 7
	out := write(t, JSONL, r)
	assert.Contains(t, out, `"phase":"7"`)
}

func TestParseFormat(t *testing.T) {
	for _, name := range Formats() {
		f, err := ParseFormat(name)
		assert.NoError(t, err)
		assert.Equal(t, name, string(f))
	}
	_, err := ParseFormat("xml")
	assert.ErrorContains(t, err, "jsonl or csv")
}

func benchmarkWrite(b *testing.B, f Format) {
	w, err := NewWriter(io.Discard, f)
	require.NoError(b, err)
	require.NoError(b, w.SetHeader(header()))
	r := record()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.RequestID = uint64(i)
		if err := w.Write(&r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteJSONL(b *testing.B) { benchmarkWrite(b, JSONL) }
func BenchmarkWriteCSV(b *testing.B)   { benchmarkWrite(b, CSV) }

func TestErrorColumn(t *testing.T) {
	r := record()
	r.Status, r.Outcome, r.Error = 0, results.OutcomeConnError, "tls: first record does not look like a TLS handshake, \"really\""
	out := write(t, CSV, r)
	assert.True(t, strings.HasPrefix(out, strings.Join(Columns(), ",")+"\n"), out)
	assert.True(t, strings.HasSuffix(out, `,"tls: first record does not look like a TLS handshake, ""really"""`+"\n"), out)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(write(t, JSONL, r)), &got))
	assert.Equal(t, r.Error, got["error"])
}
