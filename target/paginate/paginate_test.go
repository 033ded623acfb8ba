package paginate

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	testKey = []byte("0123456789abcdef0123456789abcdef")
	t0      = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
)

func testCodec(t testing.TB) *Codec {
	c, err := NewCodec(testKey, 10*time.Minute)
	require.NoError(t, err)
	return c
}

func TestTokenRoundTrip(t *testing.T) {
	c := testCodec(t)
	for _, cur := range []Cursor{
		{},
		{Position: 1, Filter: "color=red"},
		{Position: 999_999, Filter: "color=blue,size>900"},
		{Position: 1 << 63},
	} {
		tok := c.Encode(cur, t0)
		got, err := c.Decode(tok, t0.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, cur, got)
	}
}

func TestTokenExpiry(t *testing.T) {
	c := testCodec(t)
	tok := c.Encode(Cursor{Position: 5}, t0)
	tests := []struct {
		at   time.Time
		want error
	}{
		{t0, nil},
		{t0.Add(10 * time.Minute), nil},
		{t0.Add(10*time.Minute + time.Second), ErrExpiredToken},
		{t0.Add(time.Hour), ErrExpiredToken},
	}
	for _, tt := range tests {
		_, err := c.Decode(tok, tt.at)
		if tt.want == nil {
			assert.NoError(t, err, tt.at)
		} else {
			assert.ErrorIs(t, err, tt.want, tt.at)
			assert.ErrorIs(t, err, ErrBadToken, tt.at)
		}
	}
}

// Flipping any bit of a token, or cutting it anywhere, is refused.
func TestTokenTamperedOrTruncated(t *testing.T) {
	c := testCodec(t)
	tok := c.Encode(Cursor{Position: 123456, Filter: "size>10"}, t0)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	require.NoError(t, err)
	for i := range raw {
		for bit := range 8 {
			b := append([]byte(nil), raw...)
			b[i] ^= 1 << bit
			_, err := c.Decode(base64.RawURLEncoding.EncodeToString(b), t0)
			assert.ErrorIs(t, err, ErrBadToken, "byte %d bit %d", i, bit)
		}
	}
	for n := range len(tok) {
		_, err := c.Decode(tok[:n], t0)
		assert.ErrorIs(t, err, ErrBadToken, "cut at %d", n)
	}
	_, err = c.Decode(tok+"A", t0)
	assert.ErrorIs(t, err, ErrBadToken)
	_, err = c.Decode("!!!not-base64!!!", t0)
	assert.ErrorIs(t, err, ErrBadToken)

	other, err := NewCodec([]byte("another key of 16+ bytes"), time.Minute)
	require.NoError(t, err)
	_, err = other.Decode(tok, t0)
	assert.ErrorIs(t, err, ErrBadToken, "another key")
}

func TestNewCodecValidates(t *testing.T) {
	_, err := NewCodec([]byte("short"), time.Minute)
	assert.ErrorContains(t, err, "key")
	_, err = NewCodec(testKey, 0)
	assert.ErrorContains(t, err, "ttl")
	k, err := NewKey()
	require.NoError(t, err)
	assert.Len(t, k, KeySize)
}

func FuzzDecodeToken(f *testing.F) {
	c := testCodec(f)
	f.Add(c.Encode(Cursor{Position: 42, Filter: "color=red"}, t0))
	f.Add(c.Encode(Cursor{}, t0))
	f.Add("")
	f.Add("AQ")
	f.Add("////")
	f.Fuzz(func(t *testing.T, tok string) {
		cur, err := c.Decode(tok, t0)
		if err != nil {
			if !errors.Is(err, ErrBadToken) {
				t.Fatalf("error %v does not match ErrBadToken", err)
			}
			return
		}
		// Anything accepted must round-trip to a token that decodes the same.
		again, err := c.Decode(c.Encode(cur, t0), t0)
		if err != nil || again != cur {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", cur, again, err)
		}
	})
}

func TestParseFilter(t *testing.T) {
	col := Collection{N: 5000}
	for _, s := range []string{"", "color=red", "size>900", "size<10", "size=500", "color=blue,size>500"} {
		f, err := ParseFilter(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, f.String())
		n := 0
		for i := range col.N {
			if f.Match(col.Item(i)) {
				n++
			}
		}
		assert.Positive(t, n, "filter %q matches something in 5000 items", s)
	}
	for s, want := range map[string]string{
		"colour=red": "condition",
		"color=pink": "color",
		"size>big":   "integer",
		"size":       "condition",
		"color=red,": "condition",
	} {
		_, err := ParseFilter(s)
		if assert.Error(t, err, s) {
			assert.Contains(t, err.Error(), want, s)
		}
	}
}

func TestItemsAreDeterministic(t *testing.T) {
	c := Collection{N: 1_000_000}
	assert.Equal(t, c.Item(777), c.Item(777))
	assert.Equal(t, "item-777", c.Item(777).Name)
	colors := map[string]int{}
	for i := range uint64(8000) {
		it := c.Item(i)
		colors[it.Color]++
		assert.True(t, it.Size >= 0 && it.Size < 1000)
	}
	assert.Len(t, colors, 8)
	for _, n := range colors {
		assert.InDelta(t, 1000, n, 150, "colors spread evenly")
	}
}

// Paging through with tokens visits every match exactly once, in order,
// and no request examines more than its budget.
func TestScanPagesCoverEveryMatchOnce(t *testing.T) {
	col := Collection{N: 20_000}
	f, err := ParseFilter("size>990")
	require.NoError(t, err)
	var want []Item
	for i := range col.N {
		if it := col.Item(i); f.Match(it) {
			want = append(want, it)
		}
	}
	require.NotEmpty(t, want)

	c := testCodec(t)
	var got []Item
	pos, requests, partial := uint64(0), 0, 0
	for {
		p := col.Scan(f, pos, 10, 500)
		requests++
		assert.LessOrEqual(t, p.Scanned, 500, "budget")
		assert.LessOrEqual(t, len(p.Items), 10, "page size")
		if p.Partial {
			partial++
		}
		got = append(got, p.Items...)
		if p.Done {
			break
		}
		cur, err := c.Decode(c.Encode(Cursor{Position: p.Next, Filter: f.String()}, t0), t0)
		require.NoError(t, err)
		pos = cur.Position
	}
	assert.Equal(t, want, got)
	assert.Positive(t, partial, "a rare filter runs out of budget and returns partial pages")
	assert.GreaterOrEqual(t, requests, int(col.N)/500)
}

func BenchmarkScanPage(b *testing.B) {
	col := Collection{N: 1_000_000}
	f, _ := ParseFilter("color=red")
	b.ReportAllocs()
	for b.Loop() {
		_ = col.Scan(f, 500_000, 20, 10_000)
	}
}

func BenchmarkDecodeToken(b *testing.B) {
	c := testCodec(b)
	tok := c.Encode(Cursor{Position: 123456, Filter: "color=red"}, t0)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Decode(tok, t0); err != nil {
			b.Fatal(err)
		}
	}
}
