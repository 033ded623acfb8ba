package paginate

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrBadToken is matched (errors.Is) by every refusal of Codec.Decode: the
// token is malformed, its signature does not match, or it expired.
var ErrBadToken = errors.New("bad page token")

// ErrExpiredToken is matched by an expired token (which also matches
// ErrBadToken).
var ErrExpiredToken = fmt.Errorf("%w: expired", ErrBadToken)

// Cursor is where a scan continues: the index of the next item to examine,
// and the filter the scan was started with (a token only continues the scan
// it was issued for).
type Cursor struct {
	Position uint64
	Filter   string
}

// tokenVersion is the first byte of every token's payload.
const tokenVersion = 1

// maxFilterLen bounds the filter a token carries (and so the token's size).
const maxFilterLen = 256

// KeySize is the size of an HMAC key made by NewKey.
const KeySize = 32

// NewKey returns a random HMAC key (for a per-process key).
func NewKey() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("page token key: %w", err)
	}
	return k, nil
}

// Codec encodes cursors into opaque signed tokens and decodes them back.
//
// A token is base64url (no padding) of
//
//	payload = version(1) | position(uvarint) | expiry unix seconds(uvarint) | len(filter)(uvarint) | filter
//	token   = payload | HMAC-SHA256(key, payload)
//
// Safe for concurrent use; immutable after NewCodec. The zero value is not
// usable.
type Codec struct {
	key []byte
	ttl time.Duration
}

// NewCodec returns a Codec signing with key (at least 16 bytes) whose tokens
// expire ttl after they are issued.
func NewCodec(key []byte, ttl time.Duration) (*Codec, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("page token key: %d bytes, want ≥ 16", len(key))
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("page token ttl: %v, want > 0", ttl)
	}
	return &Codec{key: append([]byte(nil), key...), ttl: ttl}, nil
}

// Encode returns the token for c, issued at now.
func (k *Codec) Encode(c Cursor, now time.Time) string {
	filter := c.Filter
	if len(filter) > maxFilterLen {
		filter = filter[:maxFilterLen]
	}
	buf := make([]byte, 0, 1+3*binary.MaxVarintLen64+len(filter)+sha256.Size)
	buf = append(buf, tokenVersion)
	buf = binary.AppendUvarint(buf, c.Position)
	buf = binary.AppendUvarint(buf, uint64(now.Add(k.ttl).Unix()))
	buf = binary.AppendUvarint(buf, uint64(len(filter)))
	buf = append(buf, filter...)
	buf = k.sign(buf, buf)
	return base64.RawURLEncoding.EncodeToString(buf)
}

func (k *Codec) sign(dst, payload []byte) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write(payload)
	return m.Sum(dst)
}

// Decode checks token's signature and expiry at now and returns its cursor.
// Every failure matches ErrBadToken and says what was wrong.
func (k *Codec) Decode(token string, now time.Time) (Cursor, error) {
	if len(token) > base64.RawURLEncoding.EncodedLen(1+3*binary.MaxVarintLen64+maxFilterLen+sha256.Size) {
		return Cursor{}, fmt.Errorf("%w: too long", ErrBadToken)
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return Cursor{}, fmt.Errorf("%w: not base64url", ErrBadToken)
	}
	if len(raw) < 1+sha256.Size {
		return Cursor{}, fmt.Errorf("%w: truncated", ErrBadToken)
	}
	payload, mac := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(mac, k.sign(nil, payload)) {
		return Cursor{}, fmt.Errorf("%w: signature does not match", ErrBadToken)
	}
	// The payload is ours (signed); parse it defensively all the same.
	if payload[0] != tokenVersion {
		return Cursor{}, fmt.Errorf("%w: version %d, want %d", ErrBadToken, payload[0], tokenVersion)
	}
	p := payload[1:]
	var fields [3]uint64
	for i := range fields {
		v, n := binary.Uvarint(p)
		if n <= 0 {
			return Cursor{}, fmt.Errorf("%w: malformed", ErrBadToken)
		}
		fields[i], p = v, p[n:]
	}
	pos, expiry, flen := fields[0], fields[1], fields[2]
	if flen != uint64(len(p)) {
		return Cursor{}, fmt.Errorf("%w: malformed", ErrBadToken)
	}
	if expiry > uint64(1<<62) || now.Unix() > int64(expiry) {
		return Cursor{}, ErrExpiredToken
	}
	return Cursor{Position: pos, Filter: string(p)}, nil
}
