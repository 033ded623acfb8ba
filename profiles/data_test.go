package profiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func dataProfile(t *testing.T, requests string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte("id,name\n1,ann\n2,bob\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "target: {url: http://127.0.0.1:8080}\n" +
		"data:\n  - name: users\n    file: users.csv\n" +
		"requests:\n" + requests +
		"phases:\n  - {name: p, duration: 1s, rate: 10}\n"
	path := filepath.Join(dir, "data.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func TestDataFileRelativeToProfile(t *testing.T) {
	path, dir := dataProfile(t, "  - name: a\n    path: /u/{data:users.id}\n    headers: {X-Name: \"{data:users.name}\"}\n")
	d, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := d.Resolve(Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := runs[0].Scenario
	if len(s.Data) != 1 || s.Data[0].Name != "users" || s.Data[0].File != filepath.Join(dir, "users.csv") {
		t.Errorf("data %+v, want users at %s", s.Data, filepath.Join(dir, "users.csv"))
	}
}

func TestDataUnknownNameOrColumnRefused(t *testing.T) {
	for _, tt := range []struct{ requests, want string }{
		{"  - name: a\n    path: /u/{data:user.id}\n", `data.yaml:7:11: requests[0].path: {data:user.id}: no data named "user"; did you mean "users"?`},
		{"  - name: a\n    path: /u/{data:users.idd}\n", `data.yaml:7:11: requests[0].path: {data:users.idd}: ` + "%DIR%" + `users.csv:1: no column "idd" in the header; columns: id, name`},
		{"  - name: a\n    path: /u/{data:users}\n", `requests[0].path: {data:users}: want {data:NAME.COLUMN}`},
		{"  - name: a\n    path: /\n    body: '{\"n\": \"{data:users.nam}\"}'\n", `requests[0].body: {data:users.nam}: `},
	} {
		path, dir := dataProfile(t, tt.requests)
		got := loadErr(t, path, Options{})
		want := strings.ReplaceAll(tt.want, "%DIR%", dir+string(filepath.Separator))
		if !strings.Contains(got, want) {
			t.Errorf("error:\n%s\nwant it to contain:\n%s", got, want)
		}
	}
}

func TestDataFileChecked(t *testing.T) {
	path, dir := dataProfile(t, "  - name: a\n    path: /\n")
	if err := os.Remove(filepath.Join(dir, "users.csv")); err != nil {
		t.Fatal(err)
	}
	if got := loadErr(t, path, Options{}); !strings.Contains(got, "data.yaml:4:11: data[0].file: cannot read") {
		t.Errorf("missing file: %s", got)
	}
}
