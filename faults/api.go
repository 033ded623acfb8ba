package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// APIError is an admin or control API call that the server answered with
// an error status: it refused the call and changed nothing.
type APIError struct {
	Method, Path string
	Status       int    // HTTP status
	Msg          string // the server's explanation ({"error": ...} or the body)
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Msg)
}

// apiCall is one JSON call to an admin or control API.
type apiCall struct {
	hc           *http.Client // nil: http.DefaultClient
	base, token  string
	method, path string
	body         []byte // nil: no body
	out          any    // nil: the answer is not decoded
}

// do sends c and decodes a 2xx answer into c.out; a non-2xx answer is an
// *APIError.
func (c apiCall) do(ctx context.Context) error {
	var rd io.Reader
	if c.body != nil {
		rd = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(ctx, c.method, strings.TrimSuffix(c.base, "/")+c.path, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	hc := c.hc
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.method, c.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", c.method, c.path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := string(bytes.TrimSpace(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return &APIError{Method: c.method, Path: c.path, Status: resp.StatusCode, Msg: msg}
	}
	if c.out != nil {
		if err := json.Unmarshal(data, c.out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", c.method, c.path, err)
		}
	}
	return nil
}
