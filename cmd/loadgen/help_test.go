package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/goodput-dev/goodput/internal/cli"
)

// Every subcommand answers --help on stdout, once, with examples, and exits 0.
func TestHelpPrintedOnceWithExamples(t *testing.T) {
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{c.name, "--help"}, &stdout, &stderr)
			assert.Equal(t, cli.ExitOK, cli.Exit("loadgen", err, &stderr), "stderr: %s", stderr.String())
			assert.Equal(t, 1, strings.Count(stdout.String(), "Usage:"), stdout.String())
			assert.Contains(t, stdout.String(), "Examples:")
		})
	}
}

func TestTopLevelHelpListsCommandsAndExitCodes(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.NoError(t, run(context.Background(), []string{"--help"}, &stdout, &stderr))
	for _, c := range commands() {
		assert.Contains(t, stdout.String(), c.name)
	}
	assert.Contains(t, stdout.String(), "Exit codes")
}

func TestVersionNamesTheBuild(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var stdout, stderr bytes.Buffer
		assert.NoError(t, run(context.Background(), args, &stdout, &stderr))
		assert.Regexp(t, `^loadgen \S+.* \(go1\.\d+`, stdout.String(), args)
	}
	err := run(context.Background(), []string{"version", "extra"}, &bytes.Buffer{}, &bytes.Buffer{})
	assert.Equal(t, cli.ExitUsage, cli.Code(err))
}
