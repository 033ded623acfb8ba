package target

import (
	"bytes"
	"fmt"

	"github.com/goccy/go-yaml"
)

// DecodeYAML reads a YAML configuration file (named name, for messages)
// over base: fields the file leaves out keep base's value. Decoding is
// strict: an unknown field or a value of the wrong type is an error naming
// the line, column and field. When the file sets "preset" and
// presetFixed is false, the file's preset replaces base before the rest is
// applied. The result is validated.
func DecodeYAML(base Config, presetFixed bool, name string, data []byte) (Config, error) {
	if !presetFixed {
		var head struct {
			Preset string `yaml:"preset"`
		}
		if err := yaml.Unmarshal(data, &head); err != nil {
			return Config{}, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, false))
		}
		if head.Preset != "" && head.Preset != base.Preset {
			p, err := Preset(head.Preset)
			if err != nil {
				return Config{}, fmt.Errorf("%s: %w", name, err)
			}
			p.Listen, p.Admin, p.AdminToken = base.Listen, base.Admin, base.AdminToken
			base = p
		}
	}
	cfg := base
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict())
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("%s: %s", name, yaml.FormatError(err, false, false))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}
