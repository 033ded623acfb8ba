package targetadmin

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// ReadTokenFile reads an admin token from file, as the target's
// --admin-token-file does: the file's text with one trailing newline
// ("\n" or "\r\n") trimmed. An empty file and one of several lines are
// refused.
func ReadTokenFile(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read the admin token: %w", err)
	}
	tok := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if tok == "" {
		return "", fmt.Errorf("%s is empty, want the admin token on its first line", file)
	}
	if strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("%s has more than one line, want the admin token alone", file)
	}
	return tok, nil
}

// authHint adds to err, when it is a call the target refused with 401
// Unauthorized, where the token came from (c.TokenFrom) or, when none was
// sent, where one can be given.
func (c *Client) authHint(err error) error {
	var ae *APIError
	if c.TokenFrom == "" || !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
		return err
	}
	if c.Token == "" {
		return fmt.Errorf("%w (no admin token was sent; give the target's with %s)", err, c.TokenFrom)
	}
	return fmt.Errorf("%w (the admin token from %s was refused)", err, c.TokenFrom)
}
