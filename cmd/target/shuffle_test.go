package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/goodput-dev/goodput/internal/cli"
)

func TestShuffleShardJSONMatchesTheTalk(t *testing.T) {
	tests := []struct {
		args  []string
		exact []float64
	}{
		{[]string{"--nodes", "8", "--shard-size", "2"}, []float64{0.536, 0.428, 0.036}},
		{[]string{"--nodes", "100", "--shard-size", "5", "--tenants", "2000", "--seed", "9"}, []float64{0.770, 0.211, 0.018, 0.001, 0, 0}},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := runShuffleShard(context.Background(), append(tt.args, "--format", "json"), &out, &out); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		var rep shuffleReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v: output %q: %v", tt.args, out.String(), err)
		}
		if len(rep.Overlap) != len(tt.exact) {
			t.Fatalf("%v: %d overlap rows, want %d", tt.args, len(rep.Overlap), len(tt.exact))
		}
		for s, o := range rep.Overlap {
			if o.Shared != s || math.Abs(o.Exact-tt.exact[s]) > 0.001 || math.Abs(o.Measured-o.Exact) > 0.01 {
				t.Errorf("%v: row %+v, want shared %d, exact ≈ %.3f, measured within 0.01 of exact", tt.args, o, s, tt.exact[s])
			}
		}
	}
}

func TestShuffleShardText(t *testing.T) {
	var out bytes.Buffer
	if err := runShuffleShard(context.Background(), []string{"--nodes", "8", "--shard-size", "2"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"8 nodes, shard size 2", "53.5714%", "42.8571%", "3.5714%"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestShuffleShardBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--nodes", "8"},
		{"--nodes", "8", "--shard-size", "9"},
		{"--nodes", "0", "--shard-size", "1"},
		{"--nodes", "40", "--shard-size", "17"},
		{"--nodes", "8", "--shard-size", "2", "--tenants", "1"},
		{"--nodes", "8", "--shard-size", "2", "--format", "xml"},
		{"--nodes", "8", "--shard-size", "2", "extra"},
		{"--bogus"},
	} {
		var out bytes.Buffer
		err := runShuffleShard(context.Background(), args, &out, &out)
		if cli.Code(err) != cli.ExitUsage {
			t.Errorf("%v: err %v, want a usage error (exit 2)", args, err)
		}
	}
	var out bytes.Buffer
	if err := runShuffleShard(context.Background(), []string{"--help"}, &out, &out); !errors.Is(err, cli.ErrHelp) || !strings.Contains(out.String(), "--shard-size") {
		t.Errorf("--help: err %v, output %q", err, out.String())
	}
}
