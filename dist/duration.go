package dist

import (
	"fmt"
	"time"
)

// Duration is a time.Duration that reads and writes JSON and YAML (text) as a Go
// duration string ("250ms").
type Duration time.Duration

// MarshalText encodes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// String writes d as a Go duration string ("250ms"), as error messages
// show it.
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText decodes a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("duration %q: want a Go duration such as 250ms or 2s", b)
	}
	*d = Duration(v)
	return nil
}
