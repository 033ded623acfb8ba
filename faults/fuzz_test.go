package faults

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeSpec feeds the proxy's control API decoder arbitrary bytes: it
// never panics, and whatever it accepts as a valid entry survives a round
// trip through SpecOf and JSON unchanged.
func FuzzDecodeSpec(f *testing.F) {
	for _, seed := range []string{
		`{"name":"slow","kind":"delay","delay":"100ms","jitter":"20ms","probability":0.3,"route":"/api"}`,
		`{"name":"x","kind":"abort","status":503,"target":"db","at":"1s","for":"2s"}`,
		`{"name":"x","kind":"latency","target":"db","distribution":{"dist":"lognormal","p50":"10ms","p99":"50ms"},"multiplier":2}`,
		`{"name":"x","kind":"bandwidth","bytes_per_second":1024,"header":"X-Tenant: hot","method":"GET"}`,
		`{"name":"x","kind":"surge","target":"load","multiplier":3}`,
		`{"kind":"explode"}`, `[]`, `{"probability":"x"}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSpec(data)
		if err != nil {
			return
		}
		e, err := s.entry()
		if err != nil {
			return
		}
		s2, err := SpecOf(e)
		if err != nil {
			t.Fatalf("SpecOf(%+v): %v", e, err)
		}
		b, err := json.Marshal(s2)
		if err != nil {
			t.Fatal(err)
		}
		s3, err := DecodeSpec(b)
		if err != nil {
			t.Fatalf("re-decode %s: %v", b, err)
		}
		e3, err := s3.entry()
		if err != nil {
			t.Fatalf("re-validate %s: %v", b, err)
		}
		b3, _ := json.Marshal(mustSpec(t, e3))
		if string(b3) != string(b) {
			t.Fatalf("round trip changed the fault:\n%s\n%s", b, b3)
		}
	})
}

func mustSpec(t *testing.T, e Entry) Spec {
	s, err := SpecOf(e)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
