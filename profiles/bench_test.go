package profiles

import "testing"

// BenchmarkLoad parses and resolves the surge-recovery profile (both
// variants): what `loadgen run` does before anything starts.
func BenchmarkLoad(b *testing.B) {
	data, err := BuiltinSource("surge-recovery")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d, err := Parse("surge-recovery.yaml", "", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := d.Resolve(Options{Set: []string{"phases.surge.rate=300"}}); err != nil {
			b.Fatal(err)
		}
	}
}
