package workload

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
)

// TargetsFormat is the syntax of a targets file.
type TargetsFormat string

// Targets file formats.
const (
	// TargetsHTTP is vegeta's HTTP targets format: a "METHOD URL" line,
	// then "Header: value" lines, then an optional "@path/to/body" line;
	// a blank line between targets; lines starting with # are comments.
	TargetsHTTP TargetsFormat = "http"
	// TargetsJSONL is one JSON object a line: method, url, header (a map
	// of lists), body (base64) and an optional name.
	TargetsJSONL TargetsFormat = "jsonl"
)

// ParseTargetsFormat reads a format as flags write it.
func ParseTargetsFormat(s string) (TargetsFormat, error) {
	switch f := TargetsFormat(s); f {
	case TargetsHTTP, TargetsJSONL:
		return f, nil
	}
	return "", fmt.Errorf("targets format %q: want http or jsonl", s)
}

// maxTargets bounds the targets of one file: each becomes a template that
// the run keeps compiled.
const maxTargets = 100_000

// ReadTargets reads the targets of r, named name in errors, in format f,
// as templates to play in file order. Every template is Literal: URLs,
// headers and bodies are sent as written. A body named by @path (http
// format) is read from path as vegeta does, relative to the working
// directory. Errors name the file and line and what would be valid.
func ReadTargets(r io.Reader, name string, f TargetsFormat) ([]Template, error) {
	var ts []Template
	var err error
	switch f {
	case TargetsHTTP:
		ts, err = readHTTPTargets(r, name)
	case TargetsJSONL:
		ts, err = readJSONLTargets(r, name)
	default:
		_, err = ParseTargetsFormat(string(f))
	}
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, fmt.Errorf("%s: no targets", name)
	}
	return ts, nil
}

// lineError is an error at a line of a targets file.
func lineError(name string, line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
}

func readHTTPTargets(r io.Reader, name string) ([]Template, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var ts []Template
	var cur *Template // the target whose header and body lines follow
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case text == "":
			cur = nil
		case strings.HasPrefix(text, "#"):
		case cur == nil:
			method, rawURL, ok := strings.Cut(text, " ")
			rawURL = strings.TrimSpace(rawURL)
			if !ok || !validMethod(method) {
				return nil, lineError(name, line, "%q: want a target's first line, METHOD URL (GET http://host/path)", text)
			}
			if err := checkTargetURL(rawURL); err != nil {
				return nil, lineError(name, line, "%v", err)
			}
			if len(ts) == maxTargets {
				return nil, lineError(name, line, "more than %d targets", maxTargets)
			}
			ts = append(ts, Template{Method: method, URL: rawURL, Literal: true})
			cur = &ts[len(ts)-1]
		case strings.HasPrefix(text, "@"):
			if cur.Body != nil {
				return nil, lineError(name, line, "a second body for one target")
			}
			body, err := os.ReadFile(text[1:])
			if err != nil {
				return nil, lineError(name, line, "body: %v", err)
			}
			cur.Body = body
		default:
			if cur.Body != nil {
				return nil, lineError(name, line, "%q: a header after the body line; headers come before @body", text)
			}
			k, v, ok := strings.Cut(text, ":")
			k = strings.TrimSpace(k)
			if !ok || k == "" || strings.ContainsAny(k, " \t") {
				return nil, lineError(name, line, "%q: want a header, Name: value, or @path/to/body", text)
			}
			if cur.Header == nil {
				cur.Header = http.Header{}
			}
			cur.Header.Add(k, strings.TrimSpace(v))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ts, nil
}

// jsonTarget is one line of a jsonl targets file.
type jsonTarget struct {
	Name   string      `json:"name"`
	Method string      `json:"method"`
	URL    string      `json:"url"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body"` // base64, as encoding/json reads []byte
}

func readJSONLTargets(r io.Reader, name string) ([]Template, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var ts []Template
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var jt jsonTarget
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&jt); err != nil {
			return nil, lineError(name, line, "%v (want {\"method\": \"GET\", \"url\": \"http://host/path\", \"header\": {\"Name\": [\"value\"]}, \"body\": \"base64\", \"name\": \"route\"})", err)
		}
		if jt.Method == "" {
			jt.Method = http.MethodGet
		}
		if !validMethod(jt.Method) {
			return nil, lineError(name, line, "method %q: want an HTTP method such as GET or POST", jt.Method)
		}
		if err := checkTargetURL(jt.URL); err != nil {
			return nil, lineError(name, line, "%v", err)
		}
		if len(ts) == maxTargets {
			return nil, lineError(name, line, "more than %d targets", maxTargets)
		}
		ts = append(ts, Template{Name: jt.Name, Method: jt.Method, URL: jt.URL, Header: jt.Header, Body: jt.Body, Literal: true})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ts, nil
}

// validMethod reports whether m is an HTTP method token (RFC 9110 §9.1):
// upper-case letters, as every registered method is written.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// checkTargetURL refuses a URL a target cannot be sent to.
func checkTargetURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("url %q: want an absolute http:// or https:// URL with a host", raw)
	}
	return nil
}

// TargetHosts returns the distinct scheme://host of ts's URLs, in first
// appearance: what a run dials before its schedule starts.
func TargetHosts(ts []Template) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range ts {
		u, err := url.Parse(t.URL)
		if err != nil {
			continue
		}
		h := u.Scheme + "://" + u.Host
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}
