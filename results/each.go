package results

import (
	"context"
	"errors"
	"io"
)

// checkEvery is how many records Each reads between looks at its context.
const checkEvery = 1 << 16

// batchLen is how many records Each's reader decodes ahead in one batch,
// and batches how many batches are in flight between it and the callbacks.
const (
	batchLen = 256
	batches  = 3
)

// decoded is one record of a batch, as Reader.Next left it.
type decoded struct {
	kind RecordKind
	res  Result
	ev   Event
}

// batch is a run of decoded records and how reading ended after them: nil
// while the stream goes on, io.EOF at its end, or the Reader's error.
type batch struct {
	recs []decoded
	err  error
}

// Each reads rd to its end, calling onResult for every Result and onEvent
// for every Event, in stream order (a nil callback skips its kind). It
// returns nil at the end of the stream, rd's error, a callback's error as
// it is, or ctx's error when ctx ends (looked at every 65,536 records).
// The pointers passed are valid only during the call: copy what is kept.
//
// A goroutine of its own decodes a few hundred records ahead of the
// callbacks, so that decoding (checksums, msgpack) and what the callbacks
// do (aggregating, writing) run on two cores at once. It has ended when
// Each returns, so rd is the caller's again; the callbacks must not use rd.
// Reading does not allocate per record.
func Each(ctx context.Context, rd *Reader, onResult func(*Result) error, onEvent func(*Event) error) error {
	full := make(chan *batch, batches)
	free := make(chan *batch, batches)
	for range batches {
		free <- &batch{recs: make([]decoded, 0, batchLen)}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go decodeBatches(rd, free, full, stop, done)
	defer func() {
		close(stop)
		<-done
	}()

	n := 0
	for b := range full {
		for i := range b.recs {
			if n%checkEvery == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			n++
			var err error
			switch r := &b.recs[i]; {
			case r.kind == RecordResult && onResult != nil:
				err = onResult(&r.res)
			case r.kind == RecordEvent && onEvent != nil:
				err = onEvent(&r.ev)
			}
			if err != nil {
				return err
			}
		}
		if b.err != nil {
			if errors.Is(b.err, io.EOF) {
				return nil
			}
			return b.err
		}
		free <- b
	}
	return nil
}

// decodeBatches fills the batches it takes from free with rd's records
// and sends them on full, until rd ends (the last batch carries why) or
// stop is closed; then it closes full and done.
func decodeBatches(rd *Reader, free <-chan *batch, full chan<- *batch, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	defer close(full)
	for {
		var b *batch
		select {
		case b = <-free:
		case <-stop:
			return
		}
		b.recs, b.err = b.recs[:0], nil
		for len(b.recs) < cap(b.recs) {
			b.recs = b.recs[:len(b.recs)+1]
			r := &b.recs[len(b.recs)-1]
			kind, err := rd.Next(&r.res, &r.ev)
			if err != nil {
				b.recs, b.err = b.recs[:len(b.recs)-1], err
				break
			}
			r.kind = kind
		}
		select {
		case full <- b:
		case <-stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}
