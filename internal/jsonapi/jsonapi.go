// Package jsonapi makes one JSON call to an admin or control API over HTTP
// (the reference target's admin API, a fault proxy's control API) and names
// the refusal of one: Error. It leaves retries and timeouts to the caller's
// context and client.
package jsonapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Error is an admin or control API call that the server answered with
// an error status: it refused the call and changed nothing.
type Error struct {
	Method, Path string
	Status       int    // HTTP status
	Msg          string // the server's explanation ({"error": ...} or the body)
}

// Error returns the call, the status and the server's explanation.
func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Msg)
}

// Call is one JSON call to an admin or control API. It is a value; Do
// may be called from several goroutines at once.
type Call struct {
	// HTTP is the client to use; nil means http.DefaultClient.
	HTTP *http.Client
	// Base is the API's URL ("http://127.0.0.1:8081"); Path is appended.
	Base string
	// Token, when set, is sent as "Authorization: Bearer <Token>".
	Token string
	// Header holds further request headers (e.g. "X-Lease"); nil: none.
	Header http.Header
	// Method and Path are the call's ("PUT", "/admin/deps/db").
	Method, Path string
	// Body is the JSON request body; nil sends none.
	Body []byte
	// Out receives the decoded 2xx answer; nil does not decode it.
	Out any
}

// Do sends c and decodes a 2xx answer into c.Out; a non-2xx answer is an
// *Error.
func (c Call) Do(ctx context.Context) error {
	var rd io.Reader
	if c.Body != nil {
		rd = bytes.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, strings.TrimSuffix(c.Base, "/")+c.Path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Method, c.Path, err)
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Method, c.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", c.Method, c.Path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := string(bytes.TrimSpace(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &Error{Method: c.Method, Path: c.Path, Status: resp.StatusCode, Msg: msg}
	}
	if c.Out != nil {
		if err := json.Unmarshal(data, c.Out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", c.Method, c.Path, err)
		}
	}
	return nil
}
