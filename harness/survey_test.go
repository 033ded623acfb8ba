package harness

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/report"
	"github.com/goodput-dev/goodput/survey"
	"github.com/goodput-dev/goodput/workload"
	"github.com/goodput-dev/goodput/workload/retry"
)

// urlTrial is a survey trial against srv at a light baseline, with short
// windows.
func urlTrial(srv *httptest.Server, log *strings.Builder) *SurveyTrial {
	pol := retry.Default()
	pol.AttemptTimeout = 500 * time.Millisecond
	return &SurveyTrial{
		Config:   workload.Config{Mix: []workload.Template{{URL: srv.URL + "/x"}}, Retry: pol},
		Baseline: 50, Warmup: 2 * time.Second, Judge: 2 * time.Second, SlowAfter: time.Second,
		SLO: 500 * time.Millisecond, Recovery: report.RecoveryOptions{Window: 500 * time.Millisecond},
		Seed: 1, Settle: time.Second, Log: log,
	}
}

// TestSurveyTrialWaitsForTheBaseline: against a running service, a cell
// starts only once the baseline holds; a service that never holds it ends
// the survey with ErrNotSettled, after a bounded wait.
func TestSurveyTrialWaitsForTheBaseline(t *testing.T) {
	var healthy atomic.Bool
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Sick until it has answered 60 requests (more than one probe's
		// 25), unless healthy from the start.
		if served.Add(1) <= 60 && !healthy.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	var log strings.Builder
	tr := urlTrial(srv, &log)
	require.NoError(t, tr.Validate())
	tr.Settle = 10 * time.Second
	out, err := tr.Play(context.Background(), survey.Cell{Multiplier: 1.2, Duration: time.Second})
	require.NoError(t, err, log.String())
	assert.Contains(t, log.String(), "waiting for the baseline to hold", "the first probe found the service sick")
	assert.Equal(t, survey.Recovered, out.Verdict, "a 1.2x surge of a service with room to spare")
	assert.Greater(t, out.BaselineGoodput, 0.9)
	assert.Equal(t, survey.CellSeed(1, survey.Cell{Multiplier: 1.2, Duration: time.Second}), out.Seed)

	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	log.Reset()
	tr = urlTrial(sick, &log)
	began := time.Now()
	_, err = tr.Play(context.Background(), survey.Cell{Multiplier: 2, Duration: time.Second})
	require.ErrorIs(t, err, ErrNotSettled)
	assert.Contains(t, err.Error(), "within 1s")
	assert.Less(t, time.Since(began), 30*time.Second, "the wait is bounded")
}

func TestSurveyTrialValidate(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	for name, tc := range map[string]struct {
		mut  func(*SurveyTrial)
		want string
	}{
		"baseline": {func(t *SurveyTrial) { t.Baseline = 0 }, "baseline rate"},
		"warmup":   {func(t *SurveyTrial) { t.Warmup = time.Second }, "warmup"},
		"judge":    {func(t *SurveyTrial) { t.Judge = 900 * time.Millisecond }, "judge"},
		"settle":   {func(t *SurveyTrial) { t.Settle = 0 }, "settle"},
	} {
		tr := urlTrial(srv, nil)
		tc.mut(tr)
		err := tr.Validate()
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}

func TestDryRunOfASurvey(t *testing.T) {
	doc, err := profiles.Open("surge-survey")
	require.NoError(t, err)
	runs, err := doc.Resolve(profiles.Options{Short: true})
	require.NoError(t, err)
	var b strings.Builder
	require.NoError(t, DryRun(&b, runs, Options{}))
	assert.Equal(t, 2, strings.Count(b.String(), "# survey: baseline 125/s; surges of 3x for 5s..5s, bisected to 1s; each cell: 2s of baseline, the surge, 7s of baseline to judge recovery\n"), b.String())
	assert.NotContains(t, b.String(), "# timeline")
}
