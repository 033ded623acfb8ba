package target

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/goodput-dev/goodput/internal/yamldepth"
)

// DecodeYAML reads a YAML configuration file (named name, for messages)
// over base: fields the file leaves out keep base's value. Decoding is
// strict: an unknown field or a value of the wrong type is an error naming
// the line, column and field. When the file sets "preset" and
// presetFixed is false, the file's preset replaces base before the rest is
// applied. The result is validated.
//
// A document nested more than yamldepth.DefaultLimit levels deep is
// refused before it is decoded, naming the line and column.
func DecodeYAML(base Config, presetFixed bool, name string, data []byte) (Config, error) {
	if err := yamldepth.Check(data, yamldepth.DefaultLimit); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
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
	switch err := dec.Decode(&cfg); {
	case errors.Is(err, io.EOF):
		cfg = base // an empty file (or only comments) changes nothing
	case err != nil:
		return Config{}, fmt.Errorf("%s: %s", name, withLine(yaml.FormatError(err, false, false), data))
	}
	cfg.DB.Latency, cfg.Search.Latency = cfg.DB.Latency.Normalized(), cfg.Search.Latency.Normalized()
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}

// lineCol finds the "[line:column]" goccy/go-yaml puts in front of its
// messages.
var lineCol = regexp.MustCompile(`^\[(\d+):(\d+)\] `)

// withLine appends the YAML line an error points at, so a type error
// ("cannot unmarshal string into ... of type int") names the field too.
func withLine(msg string, data []byte) string {
	m := lineCol.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return msg
	}
	return fmt.Sprintf("%s (line %d: %q)", msg, n, strings.TrimSpace(lines[n-1]))
}
