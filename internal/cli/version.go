package cli

import (
	"runtime/debug"
	"strings"
)

// Version says which build of goodput this binary is: the module version
// ("v0.2.0", or "(devel)" for a build from a checkout) and, when the build
// recorded it, the VCS revision, marked "modified" when the tree had
// uncommitted changes.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	return versionOf(bi)
}

// versionOf is Version for the given build information.
func versionOf(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev == "" || strings.Contains(v, rev[:min(len(rev), 12)]) {
		// A pseudo-version already names its revision.
		return v
	}
	return v + " (" + rev[:min(len(rev), 12)] + modified + ")"
}
