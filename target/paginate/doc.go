// Package paginate is bounded work for list endpoints: checkpointed
// pagination over a large deterministic collection, filtered scans with a
// per-request work budget, and opaque continuation tokens.
//
// A scan examines at most a budget of items per request. When the budget
// runs out before the page is full, it returns what it found so far with a
// token that continues exactly where it stopped, so no request does
// unbounded work however rare the filter's matches are.
//
// Tokens are HMAC-SHA256-signed and carry an expiry and the filter they
// were issued for: a tampered, truncated, expired or re-targeted token is
// refused with an error matching ErrBadToken, never a panic.
//
// The package leaves out storage: the collection is computed from an item's
// index, so any position can be read in constant time.
package paginate
