package results

import (
	"context"
	"errors"
	"io"
)

// checkEvery is how many records Each reads between looks at its context.
const checkEvery = 1 << 16

// Each reads rd to its end, calling onResult for every Result and onEvent
// for every Event, in stream order (a nil callback skips its kind). It
// returns nil at the end of the stream, rd's error, a callback's error as
// it is, or ctx's error when ctx ends (looked at every 65,536 records).
// The pointers passed are valid only during the call: copy what is kept.
// Reading does not allocate per record.
func Each(ctx context.Context, rd *Reader, onResult func(*Result) error, onEvent func(*Event) error) error {
	var res Result
	var ev Event
	for n := 0; ; n++ {
		if n%checkEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		kind, err := rd.Next(&res, &ev)
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		case kind == RecordResult && onResult != nil:
			err = onResult(&res)
		case kind == RecordEvent && onEvent != nil:
			err = onEvent(&ev)
		}
		if err != nil {
			return err
		}
	}
}
