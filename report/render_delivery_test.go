package report

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"

	"github.com/goodput-dev/goodput/results"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// asyncFile is asyncRun written as a results stream.
func asyncFile(t *testing.T) []byte {
	t.Helper()
	h, rs := asyncRun()
	recs := make([]record, len(rs))
	for i := range rs {
		recs[i] = record{kind: results.RecordResult, res: rs[i]}
	}
	data, _ := encodeStream(t, h, recs)
	return data
}

func TestGoldenCSVWithDeliveries(t *testing.T) {
	s := aggregate(t, Options{}, asyncFile(t))
	require.NotNil(t, s.Delivery)
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, s))
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, len(s.Windows)+1)
	head := rows[0]
	require.Equal(t, CSVColumns(s), head)
	require.Len(t, head, len(CSVHeader())+2)
	assert.Equal(t, []string{"delivered", "delivery_age_p99_ms"}, head[len(head)-2:], "appended after the columns every run has")
	// 10 messages a window, 10 ms old in the first phase and 900 ms in
	// the second; the last window lost four to expiry, the dead-letter
	// queue and undelivery.
	for i, want := range []struct {
		delivered string
		ageMs     float64
	}{{"10", 10}, {"10", 10}, {"10", 900}, {"6", 900}} {
		row := rows[i+1]
		assert.Equal(t, want.delivered, row[len(row)-2], "window %d delivered", i)
		age, err := strconv.ParseFloat(row[len(row)-1], 64)
		require.NoError(t, err)
		assert.True(t, near(age, want.ageMs), "window %d age p99 %v, want %v", i, age, want.ageMs)
	}
	golden(t, "golden-delivery.csv", buf.Bytes())
}

func TestCSVWithoutDeliveriesHasNoDeliveryColumns(t *testing.T) {
	s := goldenSummary(t)
	require.Nil(t, s.Delivery)
	assert.Equal(t, CSVHeader(), CSVColumns(s))
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, s))
	head, err := csv.NewReader(&buf).Read()
	require.NoError(t, err)
	assert.NotContains(t, head, "delivered")
	assert.NotContains(t, head, "delivery_age_p99_ms")
}
