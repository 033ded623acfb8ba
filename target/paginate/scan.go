package paginate

import (
	"fmt"
	"strconv"
	"strings"
)

// Item is one element of a Collection.
type Item struct {
	ID    uint64 `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
	// Size is in 0..999.
	Size int `json:"size"`
}

// colors are the values of Item.Color.
var colors = [...]string{"red", "orange", "yellow", "green", "blue", "indigo", "violet", "black"}

// Collection is N items computed from their index: item i has ID i, Color
// and Size derived from a hash of i. It holds no storage. A Collection is a
// value, safe for concurrent use; the zero value is empty.
type Collection struct {
	N uint64
}

// Item returns item i (i < N).
func (c Collection) Item(i uint64) Item {
	color, size := attrs(i)
	return Item{ID: i, Name: "item-" + strconv.FormatUint(i, 10), Color: color, Size: size}
}

// attrs returns item i's color and size, without building the item.
func attrs(i uint64) (string, int) {
	h := mix(i)
	return colors[h%uint64(len(colors))], int((h >> 8) % 1000)
}

// mix is SplitMix64's finaliser: a fixed, well-spread hash of i.
func mix(i uint64) uint64 {
	z := i + 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Filter selects items. The zero value matches everything.
type Filter struct {
	text  string
	color string // "" = any
	op    byte   // 0 = no size condition, '<', '>' or '='
	size  int
}

// ParseFilter reads a filter: "" (everything), "color=NAME", or
// "size<N", "size>N", "size=N"; conditions joined with "," must all hold
// ("color=red,size>900").
func ParseFilter(s string) (Filter, error) {
	f := Filter{text: s}
	if s == "" {
		return f, nil
	}
	if len(s) > maxFilterLen {
		return Filter{}, fmt.Errorf("filter: %d bytes, want ≤ %d", len(s), maxFilterLen)
	}
	for cond := range strings.SplitSeq(s, ",") {
		switch {
		case strings.HasPrefix(cond, "color="):
			c := strings.TrimPrefix(cond, "color=")
			found := false
			for _, v := range colors {
				found = found || v == c
			}
			if !found {
				return Filter{}, fmt.Errorf("filter %q: color %q, want one of %v", s, c, colors)
			}
			f.color = c
		case strings.HasPrefix(cond, "size") && len(cond) > 5 && strings.ContainsRune("<>=", rune(cond[4])):
			n, err := strconv.Atoi(cond[5:])
			if err != nil {
				return Filter{}, fmt.Errorf("filter %q: size %q is not an integer", s, cond[5:])
			}
			f.op, f.size = cond[4], n
		default:
			return Filter{}, fmt.Errorf("filter %q: condition %q, want color=NAME or size<N, size>N, size=N", s, cond)
		}
	}
	return f, nil
}

// String returns the filter as parsed.
func (f Filter) String() string { return f.text }

// Match reports whether it passes the filter.
func (f Filter) Match(it Item) bool { return f.match(it.Color, it.Size) }

func (f Filter) match(color string, size int) bool {
	if f.color != "" && color != f.color {
		return false
	}
	switch f.op {
	case '<':
		return size < f.size
	case '>':
		return size > f.size
	case '=':
		return size == f.size
	}
	return true
}

// Page is the result of one bounded scan.
type Page struct {
	Items []Item
	// Scanned is how many items were examined.
	Scanned int
	// Next is where the following page starts; Done says the collection
	// was scanned to its end (no further page).
	Next uint64
	Done bool
	// Partial says the work budget ran out before the page was full.
	Partial bool
}

// Scan examines items from index from onwards and returns up to pageSize
// matches of f, examining at most budget items.
func (c Collection) Scan(f Filter, from uint64, pageSize, budget int) Page {
	var p Page
	i := from
	for ; i < c.N && len(p.Items) < pageSize; i++ {
		if p.Scanned == budget {
			p.Partial = true
			break
		}
		p.Scanned++
		if f.match(attrs(i)) {
			p.Items = append(p.Items, c.Item(i))
		}
	}
	p.Next = i
	p.Done = i >= c.N
	return p
}
