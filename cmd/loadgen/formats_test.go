package main

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/profiles"
	"github.com/goodput-dev/goodput/report"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFormatsComeFromTheRegistry checks that the formats "loadgen report"
// lists in its help and accepts, and those a profile's report.formats
// accepts, are package report's registry, all seven of them.
func TestFormatsComeFromTheRegistry(t *testing.T) {
	want := report.Formats()
	require.Equal(t, []string{"text", "json", "csv", "html", "hgrm", "hlog", "junit"}, want)

	help, _, code := runCLI(t, "report", "--help")
	require.Equal(t, 0, code)
	m := regexp.MustCompile(`--format string\s+output format: ([a-z, ]+)`).FindStringSubmatch(help)
	require.NotNil(t, m, help)
	assert.Equal(t, want, strings.Split(strings.TrimSpace(m[1]), ", "), "report --help")

	_, stderr, code := runCLI(t, "report", "--format", "nope", "x.mpk")
	require.Equal(t, 2, code)
	assert.Contains(t, stderr, "(valid: "+strings.Join(want, ", ")+")", "report --format's refusal")
	for _, f := range want {
		_, stderr, code := runCLI(t, "report", "--format", f, "missing.mpk")
		assert.NotContains(t, stderr, "is not a format", "report --format %s", f)
		assert.Equal(t, 2, code, "missing.mpk is refused, not the format")
	}

	profile := func(formats string) error {
		d, err := profiles.Parse("formats.yaml", "", []byte(fmt.Sprintf(
			"target: {url: \"http://127.0.0.1:1\"}\nrequests: [{name: root, path: /}]\nphases: [{name: p, duration: 1s, rate: 1}]\nreport: {formats: [%s]}\n", formats)))
		if err != nil {
			return err
		}
		_, err = d.Resolve(profiles.Options{})
		return err
	}
	require.NoError(t, profile(strings.Join(want, ", ")), "a profile accepts every registry format")
	err := profile("nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want one of "+strings.Join(want, ", "), "a profile's refusal")
}
