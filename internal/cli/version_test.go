package cli

import (
	"runtime/debug"
	"testing"
)

func TestVersionOf(t *testing.T) {
	setting := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"release", "v0.2.0", nil, "v0.2.0"},
		{"checkout", "(devel)", setting("vcs.revision", "317c3ae4d1e2aa55", "vcs.modified", "false"), "(devel) (317c3ae4d1e2)"},
		{"dirty checkout", "(devel)", setting("vcs.revision", "317c3ae4d1e2aa55", "vcs.modified", "true"), "(devel) (317c3ae4d1e2, modified)"},
		{"pseudo-version", "v0.0.0-20261205120000-317c3ae4d1e2", setting("vcs.revision", "317c3ae4d1e2aa55"), "v0.0.0-20261205120000-317c3ae4d1e2"},
		{"no version", "", nil, "(devel)"},
	}
	for _, tt := range tests {
		bi := &debug.BuildInfo{Main: debug.Module{Version: tt.version}, Settings: tt.settings}
		if got := versionOf(bi); got != tt.want {
			t.Errorf("%s: versionOf = %q, want %q", tt.name, got, tt.want)
		}
	}
}
