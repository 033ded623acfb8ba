package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKindsGenUpToDate fails when faults/kinds_gen.go is not what gen
// writes for the package's files today (a kind added or removed without
// `go generate ./faults`).
func TestKindsGenUpToDate(t *testing.T) {
	want, err := generate("../..")
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join("../..", outName))
	require.NoError(t, err)
	if string(got) != string(want) {
		t.Errorf("faults/%s is out of date: run go generate ./faults\nwant:\n%s", outName, want)
	}
}

// TestGenerateListsOnlyKindFuncs: gen lists the package-level func
// xxxKind() KindInfo of the files, sorted, and nothing else: not methods,
// not functions with parameters or other results, not tests, not its own
// output.
func TestGenerateListsOnlyKindFuncs(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"b.go": `package faults
func zetaKind() KindInfo { return KindInfo{} }
func alphaKind() KindInfo { return KindInfo{} }
func Kind() KindInfo { return KindInfo{} }
func withArgKind(n int) KindInfo { return KindInfo{} }
func otherKind() string { return "" }
func (x T) methodKind() KindInfo { return KindInfo{} }
`,
		"b_test.go": `package faults
func testKind() KindInfo { return KindInfo{} }
`,
		outName: `package faults
func generatedKind() KindInfo { return KindInfo{} }
`,
	}
	for name, src := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644))
	}
	names, err := kindFuncs(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"alphaKind", "zetaKind"}, names)

	require.NoError(t, run(dir))
	out, err := os.ReadFile(filepath.Join(dir, outName))
	require.NoError(t, err)
	assert.Contains(t, string(out), "return []KindInfo{\n\t\talphaKind(),\n\t\tzetaKind(),\n\t}")
	assert.Contains(t, string(out), "DO NOT EDIT")
}

func TestGenerateRefusesAPackageWithoutKinds(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.go"), []byte("package faults\n"), 0o644))
	_, err := generate(dir)
	assert.ErrorContains(t, err, "no func xxxKind() KindInfo")
}
