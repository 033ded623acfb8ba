package target_test

import (
	"fmt"

	"github.com/goodput-dev/goodput/target"
)

// A configuration file is applied over a preset; bad values are reported
// by field name.
func ExampleDecodeYAML() {
	base, err := target.Preset(target.PresetUnprotected)
	if err != nil {
		panic(err)
	}
	file := []byte(`
preset: protected
db: {pool: 16, latency: {dist: lognormal, p50: 20ms, p99: 80ms}}
admission: {queue: lifo}
`)
	cfg, err := target.DecodeYAML(base, false, "target.yaml", file)
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.Preset, cfg.DB.Pool, cfg.DB.Latency, cfg.Admission.Limiter, cfg.Admission.Queue)

	_, err = target.DecodeYAML(base, false, "bad.yaml", []byte("admission: {limiter: magic}\n"))
	fmt.Println(err)
	// Output:
	// protected 16 lognormal:20ms,80ms gradient lifo
	// bad.yaml: admission.limiter: "magic", want none, static, aimd or gradient
}
