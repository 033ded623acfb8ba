package results

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// cursor decodes msgpack values from a byte slice. Running out of bytes
// sets short; malformed input sets bad. Once either is set, the values
// returned are meaningless and the caller retries or fails.
type cursor struct {
	b     []byte
	i     int
	short bool
	bad   error
}

func (c *cursor) avail() int { return len(c.b) - c.i }

func (c *cursor) fail(msg string) {
	if c.bad == nil && !c.short {
		c.bad = errors.New(msg)
	}
}

// take returns the next n bytes, or nil when they are not all there.
func (c *cursor) take(n int) []byte {
	if c.short || c.bad != nil {
		return nil
	}
	if n < 0 || n > maxRecordBytes {
		c.fail(fmt.Sprintf("length %d out of range", n))
		return nil
	}
	if c.avail() < n {
		c.short = true
		return nil
	}
	b := c.b[c.i : c.i+n]
	c.i += n
	return b
}

func (c *cursor) code() byte {
	if c.short || c.bad != nil {
		return 0
	}
	if c.i >= len(c.b) {
		c.short = true
		return 0
	}
	v := c.b[c.i]
	c.i++
	return v
}

func be(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}

// int decodes any msgpack integer into an int64.
func (c *cursor) int() int64 {
	// Fast paths for the common encodings; the general case below also
	// handles running short.
	if i := c.i; i < len(c.b) {
		switch code := c.b[i]; {
		case code <= 0x7f:
			c.i++
			return int64(code)
		case code == 0xcd && i+3 <= len(c.b):
			c.i += 3
			return int64(binary.BigEndian.Uint16(c.b[i+1:]))
		case code == 0xce && i+5 <= len(c.b):
			c.i += 5
			return int64(binary.BigEndian.Uint32(c.b[i+1:]))
		}
	}
	return c.intSlow()
}

func (c *cursor) intSlow() int64 {
	code := c.code()
	switch {
	case c.short || c.bad != nil:
		return 0
	case code <= 0x7f:
		return int64(code)
	case code >= 0xe0:
		return int64(int8(code))
	}
	switch code {
	case 0xcc, 0xcd, 0xce, 0xcf:
		v := be(c.take(1 << (code - 0xcc)))
		if v > 1<<63-1 {
			c.fail("integer overflows int64")
		}
		return int64(v)
	case 0xd0:
		return int64(int8(be(c.take(1))))
	case 0xd1:
		return int64(int16(be(c.take(2))))
	case 0xd2:
		return int64(int32(be(c.take(4))))
	case 0xd3:
		return int64(be(c.take(8)))
	}
	c.fail(fmt.Sprintf("want an integer, found msgpack code 0x%02x", code))
	return 0
}

// uint decodes a non-negative msgpack integer.
func (c *cursor) uint() uint64 {
	if i := c.i; i < len(c.b) {
		switch code := c.b[i]; {
		case code <= 0x7f:
			c.i++
			return uint64(code)
		case code == 0xcf:
			c.i++
			return be(c.take(8))
		}
	}
	v := c.int()
	if v < 0 {
		c.fail("negative value where an unsigned one is wanted")
	}
	return uint64(v)
}

// uintMax decodes an unsigned integer no larger than max.
func (c *cursor) uintMax(max uint64) uint64 {
	v := c.uint()
	if v > max {
		c.fail(fmt.Sprintf("value %d out of range (max %d)", v, max))
	}
	return v
}

func (c *cursor) bool() bool {
	switch code := c.code(); {
	case c.short || c.bad != nil:
		return false
	case code == 0xc2:
		return false
	case code == 0xc3:
		return true
	default:
		c.fail(fmt.Sprintf("want a bool, found msgpack code 0x%02x", code))
		return false
	}
}

// str decodes a str, bin or nil value and returns its bytes (aliasing the
// input).
func (c *cursor) str() []byte {
	if i := c.i; i < len(c.b) {
		if code := c.b[i]; code >= 0xa0 && code <= 0xbf {
			if n := int(code & 0x1f); i+1+n <= len(c.b) {
				c.i += 1 + n
				return c.b[i+1 : i+1+n]
			}
		}
	}
	code := c.code()
	switch {
	case c.short || c.bad != nil:
		return nil
	case code >= 0xa0 && code <= 0xbf:
		return c.take(int(code & 0x1f))
	}
	switch code {
	case 0xc0:
		return nil
	case 0xd9, 0xc4:
		return c.take(int(be(c.take(1))))
	case 0xda, 0xc5:
		return c.take(int(be(c.take(2))))
	case 0xdb, 0xc6:
		return c.take(int(be(c.take(4))))
	}
	c.fail(fmt.Sprintf("want a string, found msgpack code 0x%02x", code))
	return nil
}

func (c *cursor) arrayLen() int {
	code := c.code()
	switch {
	case c.short || c.bad != nil:
		return 0
	case code >= 0x90 && code <= 0x9f:
		return int(code & 0x0f)
	case code == 0xdc:
		return int(be(c.take(2)))
	case code == 0xdd:
		return int(be(c.take(4)))
	}
	c.fail(fmt.Sprintf("want a record (array), found msgpack code 0x%02x", code))
	return 0
}

// maxDepth bounds the nesting of skipped values.
const maxDepth = 32

// skip passes over one value of any type.
func (c *cursor) skip(depth int) {
	if depth > maxDepth {
		c.fail("values nested too deeply")
		return
	}
	code := c.code()
	if c.short || c.bad != nil {
		return
	}
	n := 0 // nested values to skip
	switch {
	case code <= 0x7f || code >= 0xe0 || code == 0xc0 || code == 0xc2 || code == 0xc3:
		return
	case code >= 0x80 && code <= 0x8f:
		n = 2 * int(code&0x0f)
	case code >= 0x90 && code <= 0x9f:
		n = int(code & 0x0f)
	case code >= 0xa0 && code <= 0xbf:
		c.take(int(code & 0x1f))
		return
	}
	switch code {
	case 0xc4, 0xd9:
		c.take(int(be(c.take(1))))
	case 0xc5, 0xda:
		c.take(int(be(c.take(2))))
	case 0xc6, 0xdb:
		c.take(int(be(c.take(4))))
	case 0xc7:
		c.take(1 + int(be(c.take(1))))
	case 0xc8:
		c.take(1 + int(be(c.take(2))))
	case 0xc9:
		c.take(1 + int(be(c.take(4))))
	case 0xca:
		c.take(4)
	case 0xcb:
		c.take(8)
	case 0xcc, 0xd0:
		c.take(1)
	case 0xcd, 0xd1:
		c.take(2)
	case 0xce, 0xd2:
		c.take(4)
	case 0xcf, 0xd3:
		c.take(8)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		c.take(1 + 1<<(code-0xd4))
	case 0xdc:
		n = int(be(c.take(2)))
	case 0xdd:
		n = int(be(c.take(4)))
	case 0xde:
		n = 2 * int(be(c.take(2)))
	case 0xdf:
		n = 2 * int(be(c.take(4)))
	case 0xc1:
		c.fail("invalid msgpack code 0xc1")
	}
	for ; n > 0 && !c.short && c.bad == nil; n-- {
		c.skip(depth + 1)
	}
}
