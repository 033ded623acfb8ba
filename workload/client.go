package workload

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/goodput-dev/goodput/results"
	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
)

// ClientOptions configure the HTTP client of a run. A plain value, safe to
// copy; the zero value is HTTP/1.1 with 100 connections per host.
type ClientOptions struct {
	// Connections bounds the connection pool per host (HTTP/1.1: at most
	// this many connections open, dialing included, so at most this many
	// requests on the wire at once; the others wait for a connection as a
	// real client's would). 0 means 100.
	Connections int
	// HTTP2 speaks HTTP/2: h2c (prior knowledge) for http:// URLs, TLS
	// with ALPN for https://.
	HTTP2 bool
	// TLS is the base configuration of https:// connections (roots,
	// client certificate, server name, verification; see TLSFiles.Config);
	// nil trusts the system's roots and verifies each URL's host.
	TLS *tls.Config
	// DialTimeout bounds connection set-up; 0 means 5 s.
	DialTimeout time.Duration
}

// NewHTTPClient returns a client tuned for load generation: keep-alive, a
// bounded pool, no compression, no redirects followed, no overall timeout
// (the runner sets one per attempt through the context).
func NewHTTPClient(o ClientOptions) *http.Client {
	conns := o.Connections
	if conns <= 0 {
		conns = 100
	}
	dt := o.DialTimeout
	if dt <= 0 {
		dt = 5 * time.Second
	}
	dialer := &net.Dialer{Timeout: dt, KeepAlive: 30 * time.Second}
	tlsConf := tlsFor(o.TLS, "")
	var rt http.RoundTripper
	switch {
	case o.HTTP2:
		h2 := &http2.Transport{
			AllowHTTP:          true,
			DisableCompression: true,
			// Only http:// URLs reach this transport: a plain TCP
			// connection speaking HTTP/2 with prior knowledge (h2c).
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return dialer.DialContext(ctx, network, addr)
			},
		}
		rt = h2Split{h2: h2, tls: &http2.Transport{TLSClientConfig: tlsConf, DisableCompression: true}}
	default:
		rt = &http.Transport{
			DialContext:         dialer.DialContext,
			TLSClientConfig:     tlsConf,
			MaxConnsPerHost:     conns,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
			ForceAttemptHTTP2:   false,
			TLSHandshakeTimeout: dt,
		}
	}
	return &http.Client{
		Transport:     rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// h2Split routes http:// URLs to a prior-knowledge HTTP/2 transport and
// https:// ones to HTTP/2 over TLS.
type h2Split struct {
	h2  *http2.Transport
	tls *http2.Transport
}

// CloseIdleConnections closes both transports' idle connections.
func (t h2Split) CloseIdleConnections() {
	t.h2.CloseIdleConnections()
	t.tls.CloseIdleConnections()
}

func (t h2Split) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "https" {
		return t.tls.RoundTrip(r)
	}
	return t.h2.RoundTrip(r)
}

// Classify maps an attempt's error to its outcome class with errors.Is and
// errors.As, never by message text. canceled reports whether the attempt's
// context was done (the run interrupted, or a hedge lost): then the outcome
// is OutcomeCanceled whatever the error.
func Classify(err error, canceled bool) results.Outcome {
	var te interface{ Timeout() bool } // net.Error, fasthttp.ErrTimeout
	switch {
	case err == nil:
		return results.OutcomeOK
	case canceled:
		// Whatever the error says (context canceled, a deadline set in
		// the past to unblock I/O, a closed connection), the attempt
		// ended because its context did.
		return results.OutcomeCanceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		return results.OutcomeClientTimeout
	case errors.Is(err, fasthttp.ErrTimeout), errors.As(err, &te) && te.Timeout():
		return results.OutcomeClientTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, fasthttp.ErrNoFreeConns):
		return results.OutcomeConnError
	}
	// Anything else that kept the exchange from completing (a malformed
	// answer, a TLS failure, a *net.OpError of another kind) is a
	// connection-level failure too.
	return results.OutcomeConnError
}

// StatusOutcome classifies an HTTP answer: 2xx/3xx ok, 429 and 503 shed,
// other 4xx client_error, other 5xx server_error.
func StatusOutcome(status int) results.Outcome {
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return results.OutcomeShed
	case status >= 500:
		return results.OutcomeServerError
	case status >= 400:
		return results.OutcomeClientError
	}
	return results.OutcomeOK
}

// maxTimingMs bounds the Server-Timing durations believed: a day.
const maxTimingMs = 24 * 3600 * 1000

// ParseServerTiming reads a Server-Timing header value ("queue;dur=1.5,
// app;dur=3, db;dur=4", milliseconds) into queue wait, the service's own
// work ("app"), a cold start's initialisation ("init") and dependencies
// (the sum of every other entry with a dur). Entries without dur,
// malformed ones and durations over a day are skipped. It does not
// allocate.
func ParseServerTiming(v string) results.ServerTiming {
	var st results.ServerTiming
	for v != "" {
		var entry string
		entry, v, _ = strings.Cut(v, ",")
		name, params, _ := strings.Cut(entry, ";")
		name = strings.TrimSpace(name)
		dur, ok := time.Duration(0), false
		for params != "" {
			var p string
			p, params, _ = strings.Cut(params, ";")
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(k, "dur") {
				f, err := strconv.ParseFloat(strings.Trim(val, `"`), 64)
				if err == nil && f >= 0 && f < maxTimingMs {
					dur, ok = time.Duration(f*float64(time.Millisecond)), true
				}
			}
		}
		if !ok {
			continue
		}
		switch strings.ToLower(name) {
		case "queue":
			st.Queue += dur
		case "app":
			st.App += dur
		case "init":
			st.Init += dur
		default:
			st.Dep += dur
		}
	}
	return st
}

// ThrottleHeader names the response header that says why the service
// throttled an attempt (the reference target's function platform sends
// it with its 429s).
const ThrottleHeader = "X-Throttle-Reason"

// ThrottleReason returns a ThrottleHeader value as it is recorded in
// results.Result.Throttle: trimmed, and cut to results.MaxThrottleLen
// bytes. The reference target's reasons (api, account, reserved,
// scaling) come back as constants; any other value is copied, so v may
// point into a buffer that is reused.
func ThrottleReason(v string) string {
	v = strings.TrimSpace(v)
	switch v {
	case "":
		return ""
	case "api":
		return "api"
	case "account":
		return "account"
	case "reserved":
		return "reserved"
	case "scaling":
		return "scaling"
	}
	return strings.Clone(v[:min(len(v), results.MaxThrottleLen)])
}

// PreflightReport is what Preflight learnt of a reachable host that does
// not stop a run but may spoil it.
type PreflightReport struct {
	// ClientCertRequested is set when the server asked for a client
	// certificate during the TLS handshake and the configuration had none
	// to give. The handshake cannot tell whether the server requires one:
	// one that does may end the handshake, or complete it and answer every
	// request with an error (nginx's ssl_verify_client on: 400 "No
	// required SSL certificate was sent"); one that only accepts one
	// (ssl_verify_client optional) serves anyway.
	ClientCertRequested bool
}

// Preflight dials the host of rawURL with a short timeout so that a run
// against nothing fails at once, with one line, rather than after a
// schedule full of connection errors. For an https:// URL it also
// completes a TLS handshake with conf (nil: the defaults), the run's own
// TLS configuration, so that a wrong scheme, an unknown certificate
// authority or a name mismatch fail before the run too. timeout bounds
// the dial and the handshake together. Its report says what the handshake
// learnt that does not stop a run but may spoil it.
func Preflight(ctx context.Context, rawURL string, timeout time.Duration, conf *tls.Config) (PreflightReport, error) {
	var rep PreflightReport
	host, port, err := hostPort(rawURL)
	if err != nil {
		return rep, err
	}
	addr := net.JoinHostPort(host, port)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return rep, fmt.Errorf("cannot reach %s: %w", addr, err)
	}
	defer c.Close()
	if !strings.HasPrefix(rawURL, "https://") {
		return rep, nil
	}
	tc := tlsFor(conf, host)
	if len(tc.Certificates) == 0 && tc.GetClientCertificate == nil {
		// Called only when the server sends a certificate request;
		// an empty certificate sends none, as without the callback.
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			rep.ClientCertRequested = true
			return &tls.Certificate{}, nil
		}
	}
	if err := tls.Client(c, tc).HandshakeContext(ctx); err != nil {
		return rep, fmt.Errorf("TLS handshake with %s failed: %w", addr, err)
	}
	return rep, nil
}

func hostPort(rawURL string) (string, string, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || (scheme != "http" && scheme != "https") {
		return "", "", fmt.Errorf("url %q: want http:// or https://", rawURL)
	}
	hostport, _, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, "80"
		if scheme == "https" {
			port = "443"
		}
	}
	if host == "" {
		return "", "", fmt.Errorf("url %q: no host", rawURL)
	}
	return strings.Trim(host, "[]"), port, nil
}
