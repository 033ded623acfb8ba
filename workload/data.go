package workload

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Bounds of one data file, read whole into memory.
const (
	MaxDataRows  = 1_000_000 // data rows, the header not counted
	MaxDataBytes = 64 << 20  // bytes of the file
)

// ErrDataTooLarge is returned for a data file over MaxDataRows or
// MaxDataBytes.
var ErrDataTooLarge = errors.New("data file too large")

// Data is the rows of a CSV file, the values of {data:NAME.COLUMN}
// placeholders: its first row names the columns, and each request that
// uses it takes the next row (in order, wrapping after the last). Read
// once into memory by ReadData or ParseData, it is immutable and safe for
// concurrent use; each Runner keeps its own place in the rows.
type Data struct {
	name  string
	file  string
	cols  []string
	cells []string // row-major: row r is cells[r*len(cols) : (r+1)*len(cols)]
}

// Name returns the name placeholders call the data by.
func (d *Data) Name() string { return d.name }

// Columns returns the column names, in the file's order.
func (d *Data) Columns() []string { return slices.Clone(d.cols) }

// Rows returns the number of data rows (the header not counted).
func (d *Data) Rows() int { return len(d.cells) / len(d.cols) }

// ReadData reads the CSV file at path as data called name.
func ReadData(name, path string) (*Data, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data %s: %w", name, err)
	}
	defer f.Close()
	return ParseData(name, path, f)
}

// ParseData reads CSV data called name from r; file names it in errors
// (file:line). The first row is the header: non-empty, distinct column
// names. Every row has the header's number of fields, and there is at
// least one. Files over MaxDataBytes or MaxDataRows are refused.
func ParseData(name, file string, r io.Reader) (*Data, error) {
	return parseData(name, file, r, MaxDataRows, MaxDataBytes)
}

func parseData(name, file string, r io.Reader, maxRows int, maxBytes int64) (*Data, error) {
	if name == "" || strings.ContainsAny(name, ".{}") {
		return nil, fmt.Errorf("data %q (%s): want a name without '.', '{' or '}'", name, file)
	}
	lr := &io.LimitedReader{R: r, N: maxBytes + 1}
	cr := csv.NewReader(lr)
	cr.ReuseRecord = true
	d := &Data{name: name, file: file}
	for {
		rec, err := cr.Read()
		if lr.N <= 0 {
			return nil, fmt.Errorf("data %s: %s: %w: more than %d bytes", name, file, ErrDataTooLarge, maxBytes)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("data %s: %s:%d:%d: %w", name, file, pe.Line, pe.Column, pe.Err)
			}
			return nil, fmt.Errorf("data %s: %s: %w", name, file, err)
		}
		if d.cols == nil {
			line, _ := cr.FieldPos(0)
			seen := map[string]bool{}
			rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // a UTF-8 byte order mark, as spreadsheets write
			for i, c := range rec {
				if c == "" || seen[c] {
					return nil, fmt.Errorf("data %s: %s:%d: header column %d %q: want distinct, non-empty column names", name, file, line, i+1, c)
				}
				seen[c] = true
			}
			d.cols = slices.Clone(rec)
			continue
		}
		if d.Rows() >= maxRows {
			line, _ := cr.FieldPos(0)
			return nil, fmt.Errorf("data %s: %s:%d: %w: more than %d rows", name, file, line, ErrDataTooLarge, maxRows)
		}
		d.cells = append(d.cells, rec...)
	}
	if d.cols == nil || len(d.cells) == 0 {
		return nil, fmt.Errorf("data %s: %s: no rows after the header (want a header line, then at least one row)", name, file)
	}
	d.cells = slices.Clip(d.cells)
	return d, nil
}

// ParseDataFlag reads a --data NAME=FILE flag's value.
func ParseDataFlag(s string) (*Data, error) {
	name, file, ok := strings.Cut(s, "=")
	if !ok || name == "" || file == "" {
		return nil, fmt.Errorf("--data %q: want NAME=FILE, e.g. users=users.csv", s)
	}
	return ReadData(name, file)
}

// cursor is a Runner's place in one Data: the row of the request being
// prepared, and the next one. Owned by the scheduling goroutine, as the
// mix.
type cursor struct {
	d         *Data
	step      int // cells from one row of the generator to its next
	row, next int // row: of the current request, as an index into cells
}

// advance moves to the next row, wrapping after the last.
func (c *cursor) advance() {
	c.row = c.next
	c.next += c.step
	if c.next >= len(c.d.cells) {
		c.next %= len(c.d.cells)
	}
}

// dataSet is the data a mix's templates may use, with one cursor each.
type dataSet struct {
	byName  map[string]*cursor
	ordered []string
}

// newDataSet returns cursors on ds for a generator of shard: shard k of N
// takes rows k, k+N, k+2N, … (modulo the rows), so that the shards of one
// run together take the rows in order, as one generator would.
func newDataSet(ds []*Data, shard Shard) (*dataSet, error) {
	s := &dataSet{byName: map[string]*cursor{}}
	for _, d := range ds {
		if d == nil || len(d.cols) == 0 {
			return nil, errors.New("data: want data from ReadData or ParseData")
		}
		if _, dup := s.byName[d.name]; dup {
			return nil, fmt.Errorf("data %s: named twice", d.name)
		}
		n := len(d.cols)
		s.byName[d.name] = &cursor{d: d, step: shard.N() * n % len(d.cells), next: shard.Index % d.Rows() * n}
		s.ordered = append(s.ordered, d.name)
	}
	return s, nil
}

// lookup compiles the placeholder {data:NAME.COLUMN} (ref is
// NAME.COLUMN).
func (s *dataSet) lookup(ref string) (*cursor, int, error) {
	name, col, ok := strings.Cut(ref, ".")
	if !ok || name == "" || col == "" {
		return nil, 0, fmt.Errorf("placeholder {data:%s}: want {data:NAME.COLUMN}", ref)
	}
	var c *cursor
	if s != nil {
		c = s.byName[name]
	}
	if c == nil {
		known := "none given"
		if s != nil && len(s.ordered) > 0 {
			known = strings.Join(s.ordered, ", ")
		}
		return nil, 0, fmt.Errorf("placeholder {data:%s}: no data named %q (data: %s)", ref, name, known)
	}
	i := slices.Index(c.d.cols, col)
	if i < 0 {
		return nil, 0, fmt.Errorf("placeholder {data:%s}: %s:1: the header of data %s has no column %q; columns: %s", ref, c.d.file, name, col, strings.Join(c.d.cols, ", "))
	}
	return c, i, nil
}
