package workload

import (
	"math/rand/v2"
	"testing"
)

func FuzzParseServerTiming(f *testing.F) {
	f.Add("queue;dur=1.5, app;dur=3, db;dur=4")
	f.Add(`app;desc="a;b";dur=2,,;dur=`)
	f.Add("app;dur=1e300")
	f.Fuzz(func(t *testing.T, v string) {
		st := ParseServerTiming(v)
		if st.Queue < 0 || st.App < 0 || st.Dep < 0 {
			t.Fatalf("negative timing %+v from %q", st, v)
		}
	})
}

func FuzzCompileText(f *testing.F) {
	f.Add("/items/{seq}?n={rand:1-9}&t={tenant}")
	f.Add(`{"a":{seq},"b":{rand:-5--1}}`)
	f.Add("{rand:-9223372036854775808-9223372036854775807}")
	f.Fuzz(func(t *testing.T, s string) {
		tx, err := compileText(s)
		if err != nil {
			return
		}
		out := string(tx.appendTo(nil, 7, "t1", rand.New(rand.NewPCG(1, 2))))
		if tx.static && out != s {
			t.Fatalf("static text %q expanded to %q", s, out)
		}
	})
}
