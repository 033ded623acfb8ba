package workload

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testData(t *testing.T, name, csv string) *Data {
	t.Helper()
	d, err := ParseData(name, name+".csv", strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDataRowsInOrderAndWrapping: each request takes the next row, all its
// placeholders (URL, header, body) the same one, and the rows wrap.
func TestDataRowsInOrderAndWrapping(t *testing.T) {
	users := testData(t, "users", "id,name\n1,ann\n2,bob\n3,cy\n")
	m, err := newMix([]Template{{
		URL:    "http://h/users/{data:users.id}?s={seq}",
		Header: http.Header{"X-Name": {"{data:users.name}"}},
		Body:   []byte(`{"id":{data:users.id},"name":"{data:users.name}"}`),
	}}, "", Tenants{}, OrderWeighted, []*Data{users}, Shard{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	q := &request{tmpl: &m.templates[0]}
	var got []string
	for id := range uint64(5) {
		q.id = id
		q.prepare(rng)
		got = append(got, string(q.urlBuf)+" "+string(q.headerValue(0))+" "+string(q.bodyBuf))
	}
	want := []string{
		`http://h/users/1?s=0 ann {"id":1,"name":"ann"}`,
		`http://h/users/2?s=1 bob {"id":2,"name":"bob"}`,
		`http://h/users/3?s=2 cy {"id":3,"name":"cy"}`,
		`http://h/users/1?s=3 ann {"id":1,"name":"ann"}`,
		`http://h/users/2?s=4 bob {"id":2,"name":"bob"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A second mix (another Runner) starts at the first row again.
	m2, err := newMix([]Template{{URL: "http://h/{data:users.id}"}}, "", Tenants{}, OrderWeighted, []*Data{users}, Shard{})
	if err != nil {
		t.Fatal(err)
	}
	q2 := &request{tmpl: &m2.templates[0]}
	q2.prepare(rng)
	if string(q2.urlBuf) != "http://h/1" {
		t.Errorf("second runner's first request %q, want row 1", q2.urlBuf)
	}
}

func TestDataPlaceholderAllocationFree(t *testing.T) {
	users := testData(t, "users", "id,name\n1,ann\n2,bob\n")
	m, err := newMix([]Template{{URL: "http://h/{data:users.id}", Header: http.Header{"X-N": {"{data:users.name}"}}, Body: []byte("{data:users.name}")}},
		"", Tenants{}, OrderWeighted, []*Data{users}, Shard{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	q := &request{tmpl: &m.templates[0]}
	q.prepare(rng)
	if n := testing.AllocsPerRun(100, func() { q.prepare(rng) }); n != 0 {
		t.Errorf("prepare allocates %v times per request, want 0", n)
	}
}

func TestDataUnknownNameOrColumnRefused(t *testing.T) {
	users := testData(t, "users", "id,name\n1,ann\n")
	for _, tt := range []struct{ url, want string }{
		{"http://h/{data:user.id}", `no data named "user" (data: users)`},
		{"http://h/{data:users.idd}", `users.csv:1: the header of data users has no column "idd"; columns: id, name`},
		{"http://h/{data:users}", `want {data:NAME.COLUMN}`},
	} {
		_, err := newMix([]Template{{URL: tt.url}}, "", Tenants{}, OrderWeighted, []*Data{users}, Shard{})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.url, err, tt.want)
		}
	}
	if _, err := newMix([]Template{{URL: "http://h/{data:users.id}"}}, "", Tenants{}, OrderWeighted, nil, Shard{}); err == nil || !strings.Contains(err.Error(), "none given") {
		t.Errorf("without data: error %v", err)
	}
}

func TestParseDataRefuses(t *testing.T) {
	for _, tt := range []struct{ name, csv, want string }{
		{"ragged", "id,name\n1,ann\n2\n", "users.csv:3:1: wrong number of fields"},
		{"empty", "", "no rows after the header"},
		{"header only", "id\n", "no rows after the header"},
		{"duplicate column", "id,id\n1,2\n", `users.csv:1: header column 2 "id"`},
		{"bad quote", "id\n\"1\n", "users.csv:2:"},
	} {
		_, err := ParseData("users", "users.csv", strings.NewReader(tt.csv))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
	rows := "id\n" + strings.Repeat("1\n", 11)
	if _, err := parseData("users", "users.csv", strings.NewReader(rows), 10, 1<<20); !errors.Is(err, ErrDataTooLarge) || !strings.Contains(err.Error(), "users.csv:12: data file too large: more than 10 rows") {
		t.Errorf("11 rows, at most 10: %v", err)
	}
	if _, err := parseData("users", "users.csv", strings.NewReader(rows), 100, 10); !errors.Is(err, ErrDataTooLarge) || !strings.Contains(err.Error(), "more than 10 bytes") {
		t.Errorf("over the byte bound: %v", err)
	}
}

func TestReadDataFlag(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.csv")
	if err := os.WriteFile(path, []byte("id\n7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := ParseDataFlag("users=" + path)
	if err != nil || d.Name() != "users" || d.Rows() != 1 {
		t.Fatalf("ParseDataFlag: %v, %v", d, err)
	}
	if d, err := ParseData("u", "u.csv", strings.NewReader("\ufeffid\n1\n")); err != nil || d.Columns()[0] != "id" {
		t.Errorf("byte order mark kept in the header: %v, %v", d, err)
	}
	if _, err := ParseDataFlag("users"); err == nil {
		t.Error("--data users accepted")
	}
}

func BenchmarkPrepareData(b *testing.B) {
	users, err := ParseData("users", "users.csv", strings.NewReader("id,name\n1,ann\n2,bob\n3,cy\n"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := newMix([]Template{{URL: "http://h/users/{data:users.id}", Header: http.Header{"X-Name": {"{data:users.name}"}}}}, "", Tenants{}, OrderWeighted, []*Data{users}, Shard{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	q := &request{tmpl: &m.templates[0]}
	b.ReportAllocs()
	for b.Loop() {
		q.prepare(rng)
	}
}

// TestDataRowsSplitAcrossShards: shard k of N takes rows k, k+N, …, so the
// shards of a run together take every row, as one generator would.
func TestDataRowsSplitAcrossShards(t *testing.T) {
	users := testData(t, "users", "id\n0\n1\n2\n3\n4\n")
	for _, tt := range []struct {
		shard Shard
		want  string
	}{
		{Shard{}, "0 1 2 3 4 0"},
		{Shard{Index: 0, Count: 2}, "0 2 4 1 3 0"},
		{Shard{Index: 1, Count: 2}, "1 3 0 2 4 1"},
		{Shard{Index: 2, Count: 5}, "2 2 2"},
	} {
		m, err := newMix([]Template{{URL: "http://h/{data:users.id}"}}, "", Tenants{}, OrderWeighted, []*Data{users}, tt.shard)
		if err != nil {
			t.Fatal(err)
		}
		q := &request{tmpl: &m.templates[0]}
		var got []string
		for range strings.Count(tt.want, " ") + 1 {
			q.prepare(nil)
			got = append(got, strings.TrimPrefix(string(q.urlBuf), "http://h/"))
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("shard %+v: rows %s, want %s", tt.shard, g, tt.want)
		}
	}
}

func FuzzParseData(f *testing.F) {
	f.Add("id,name\n1,ann\n2,\"b,ob\"\n")
	f.Add("a\n\"\n")
	f.Add("a,a\n1,2\n")
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseData("f", "f.csv", strings.NewReader(s), 100, 1<<16)
		if err != nil {
			return
		}
		if d.Rows() < 1 || len(d.Columns()) < 1 || len(d.cells) != d.Rows()*len(d.cols) {
			t.Fatalf("%q: %d rows of %d columns in %d cells", s, d.Rows(), len(d.cols), len(d.cells))
		}
	})
}
