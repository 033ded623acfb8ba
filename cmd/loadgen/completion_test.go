package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every visible flag of every command, read from the FlagSets the
// commands parse, is in each shell's script: a flag added to a command
// cannot be missing from completion.
func TestCompletionScriptsListEveryFlagOfEveryCommand(t *testing.T) {
	scripts := map[string]string{}
	for _, shell := range completionShells {
		out, stderr, code := runCLI(t, "completion", shell)
		require.Equal(t, 0, code, stderr)
		scripts[shell] = out
	}
	for _, c := range commands() {
		n := 0
		c.flags(nil).VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			n++
			zsh := "'--" + f.Name + "["
			if f.Shorthand != "" {
				zsh = "{-" + f.Shorthand + ",--" + f.Name + "}'["
			}
			assert.Contains(t, bashFlags(scripts["bash"], c.name), "--"+f.Name, "bash: %s", c.name)
			if f.Shorthand != "" {
				assert.Contains(t, bashFlags(scripts["bash"], c.name), "-"+f.Shorthand, "bash: %s", c.name)
			}
			assert.True(t, strings.Contains(scripts["zsh"], zsh), "zsh: %s --%s", c.name, f.Name)
			fish := "'__fish_seen_subcommand_from " + c.name + "' -l " + f.Name
			if f.Shorthand != "" {
				fish += " -s " + f.Shorthand
			}
			assert.True(t, strings.Contains(scripts["fish"], fish+" "), "fish: %s --%s", c.name, f.Name)
		})
		for shell, s := range scripts {
			assert.True(t, strings.Contains(s, c.name), "%s: command %s", shell, c.name)
		}
		if c.name == "report" {
			assert.Greater(t, n, 10, "report's flags were read")
		}
	}
	assert.NotContains(t, bashFlags(scripts["bash"], "report"), "--url", "a command's case lists its own flags only")
}

// bashFlags returns the flags the bash script completes for command.
func bashFlags(script, command string) []string {
	for line := range strings.Lines(script) {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), command+`) flags="`)
		if ok {
			list, _, _ := strings.Cut(rest, `"`)
			return strings.Fields(list)
		}
	}
	return nil
}

func TestCompletionBashScriptParses(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	out, stderr, code := runCLI(t, "completion", "bash")
	require.Equal(t, 0, code, stderr)
	cmd := exec.Command(bash, "-n")
	cmd.Stdin = strings.NewReader(out)
	msg, err := cmd.CombinedOutput()
	assert.NoError(t, err, "bash -n: %s", msg)
	for _, shell := range []string{"zsh", "fish"} {
		if path, err := exec.LookPath(shell); err == nil {
			out, _, _ := runCLI(t, "completion", shell)
			cmd := exec.Command(path, "-n")
			cmd.Stdin = strings.NewReader(out)
			msg, err := cmd.CombinedOutput()
			assert.NoError(t, err, "%s -n: %s", shell, msg)
		}
	}
}

func TestCompletionNeedsOneKnownShell(t *testing.T) {
	for _, args := range [][]string{{"completion"}, {"completion", "powershell"}, {"completion", "bash", "zsh"}} {
		_, stderr, code := runCLI(t, args...)
		assert.Equal(t, 2, code, args)
		assert.Contains(t, stderr, "valid: bash, zsh, fish", args)
	}
}
