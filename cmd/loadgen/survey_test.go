package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/internal/cli"
)

// surveyJSON is the part of the survey JSON the tests read.
type surveyJSON struct {
	Survey struct {
		Target string `json:"target"`
		Seed   uint64 `json:"seed"`
		Cells  []struct {
			Multiplier      float64 `json:"multiplier"`
			DurationS       float64 `json:"duration_s"`
			Verdict         string  `json:"verdict"`
			RecoveryS       float64 `json:"recovery_s"`
			BaselineGoodput float64 `json:"baseline_goodput_ratio"`
		} `json:"cells"`
		Boundary []struct {
			Multiplier float64 `json:"multiplier"`
			SurvivedS  float64 `json:"longest_survived_s"`
			FailedS    float64 `json:"shortest_failed_s"`
			Bound      string  `json:"bound"`
		} `json:"boundary"`
		Contradictions []json.RawMessage `json:"contradictions"`
	} `json:"survey"`
	Assertions []struct {
		Expr   string `json:"expr"`
		Passed bool   `json:"passed"`
	} `json:"assertions"`
}

// TestSurveyUnprotectedTarget surveys the embedded unprotected reference
// target with the demo's clients in the short form of surge-recovery
// (half the db pool and half the rate: capacity 200/s, baseline 125/s, the
// same utilisation for half the CPU): a 1 s surge of 4x is survived, a
// 6 s one leaves it metastable (the surge-recovery lesson surges 3x for
// 10 s). Two cells with the shortest warm-up and judging window, about
// 25 s.
func TestSurveyUnprotectedTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("plays two cells of real load, about 25 s")
	}
	dir := t.TempDir()
	out, conf := filepath.Join(dir, "survey.json"), filepath.Join(dir, "target.yaml")
	require.NoError(t, os.WriteFile(conf, []byte("db: {pool: 4}\n"), 0o644))
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"survey", "--preset", "unprotected", "--target-config", conf, "--rate", "125", "--multipliers", "4",
		"--durations", "1s..6s", "--resolution", "5s", "--warmup", "2s", "--judge", "6s", "--seed", "7",
		"--assert", "survive(4x) >= 1s", "--assert", "survive(4x) >= 6s", "--format", "json", "-o", out}, &stdout, &stderr)
	require.Error(t, err, stderr.String())
	assert.Equal(t, cli.ExitAssertion, cli.Code(err), "one assertion fails: %v", err)
	assert.Contains(t, stderr.String(), "FAIL survive(4x) >= 6s: survives 1s (6s did not)")
	data, rerr := os.ReadFile(out)
	require.NoError(t, rerr)
	var j surveyJSON
	require.NoError(t, json.Unmarshal(data, &j), string(data))
	s := j.Survey
	assert.Equal(t, "embedded unprotected", s.Target)
	assert.Equal(t, uint64(7), s.Seed)
	require.Len(t, s.Cells, 2, string(data))
	assert.Equal(t, 1.0, s.Cells[0].DurationS)
	assert.Contains(t, []string{"recovered", "slow"}, s.Cells[0].Verdict, "a 1 s surge is absorbed")
	assert.Equal(t, 6.0, s.Cells[1].DurationS)
	assert.Equal(t, "metastable", s.Cells[1].Verdict, "a 6 s surge leaves the unprotected target collapsed")
	for _, c := range s.Cells {
		assert.Greater(t, c.BaselineGoodput, 0.8, "each cell starts from a fresh target that holds the baseline")
	}
	require.Len(t, s.Boundary, 1)
	assert.Equal(t, "exact", s.Boundary[0].Bound)
	assert.Equal(t, 1.0, s.Boundary[0].SurvivedS)
	assert.Equal(t, 6.0, s.Boundary[0].FailedS)
	assert.Empty(t, s.Contradictions)
	require.Len(t, j.Assertions, 2)
	assert.True(t, j.Assertions[0].Passed)
	assert.False(t, j.Assertions[1].Passed)
}

func TestSurveyUsageErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"bad assertion":        {[]string{"--preset", "unprotected", "--assert", "survives(3x) > 1s"}, `survives(3x) > 1s`},
		"unsurveyed":           {[]string{"--preset", "unprotected", "--multipliers", "2,3", "--assert", "survive(4x) >= 1s"}, "4x is not surveyed (multipliers: 2x, 3x)"},
		"own schedule":         {[]string{"--preset", "unprotected", "--phase", "10s@100"}, "--phase: a survey makes its own schedule"},
		"durations":            {[]string{"--preset", "unprotected", "--durations", "30s..1s"}, "--durations"},
		"multiplier":           {[]string{"--preset", "unprotected", "--multipliers", "3,zero"}, `--multipliers: multiplier "zero"`},
		"resolution":           {[]string{"--preset", "unprotected", "--resolution", "0s"}, "resolution"},
		"format":               {[]string{"--preset", "unprotected", "--format", "csv"}, `--format "csv"`},
		"preset":               {[]string{"--preset", "fortified"}, "--preset"},
		"absolute with preset": {[]string{"--preset", "unprotected", "--url", "http://127.0.0.1:1/"}, "with --preset, a path"},
		"no target":            {[]string{}, "--url or --targets is required"},
		"judge too short":      {[]string{"--preset", "unprotected", "--judge", "4s"}, "judge: 4s, want ≥ 2 × the recovery window (3s)"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"survey"}, tc.args...), &stdout, &stderr)
		require.Error(t, err, name)
		assert.Equal(t, cli.ExitUsage, cli.Code(err), "%s: %v", name, err)
		assert.Contains(t, err.Error(), tc.want, name)
	}
}

func TestSurveyUnreachable(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"survey", "--url", "http://127.0.0.1:1/", "--quiet"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Equal(t, cli.ExitRun, cli.Code(err), "%v", err)
}

// TestSurveyInterrupted: a survey whose context ends writes what it has
// and exits 3 (the run was not carried out).
func TestSurveyInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "survey.json")
	var stdout, stderr bytes.Buffer
	err := run(ctx, []string{"survey", "--preset", "unprotected", "--rate", "20", "--quiet", "--format", "json", "-o", out}, &stdout, &stderr)
	require.Error(t, err)
	assert.Equal(t, cli.ExitRun, cli.Code(err), "%v", err)
	assert.Contains(t, err.Error(), "interrupted before any cell")
	data, rerr := os.ReadFile(out)
	require.NoError(t, rerr)
	assert.Contains(t, string(data), `"interrupted": true`)
}
