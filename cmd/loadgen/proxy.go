package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/goodput-dev/goodput/faults"
	"github.com/goodput-dev/goodput/faults/proxy"
	"github.com/goodput-dev/goodput/internal/cli"
)

const proxyExamples = `  # Put a fault proxy in front of a dependency and slow 30% of its calls
  loadgen proxy --listen 127.0.0.1:8090 --upstream http://127.0.0.1:9000 --control 127.0.0.1:8091 &
  curl -X POST 127.0.0.1:8091/faults -d '{"name":"slow","kind":"delay","delay":"100ms","jitter":"20ms","probability":0.3}'
  curl 127.0.0.1:8091/faults                    # list
  curl -X DELETE 127.0.0.1:8091/faults/slow     # remove one
  curl -X POST 127.0.0.1:8091/reset             # remove all

  # Start with a fault in place; a control API on all interfaces needs a token
  export LOADGEN_PROXY_TOKEN=$(head -c 16 /dev/urandom | base64)
  loadgen proxy --upstream http://10.0.0.5:8080 --listen :8090 --control :8091 \
    --fault '{"name":"flaky","kind":"abort","status":503,"probability":0.1}'
`

// runProxy implements "loadgen proxy": a reverse proxy that applies
// faults to the traffic through it, controlled by a JSON API.
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newProxyFlags(stdout)
	listen, upstream, control, token, seed, initial, drain := f.listen, f.upstream, f.control, f.token, f.seed, f.initial, f.drain
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return cli.Usagef("proxy: unexpected argument %q (see loadgen proxy --help)", fs.Arg(0))
	}
	if *token == "" {
		*token = os.Getenv("LOADGEN_PROXY_TOKEN")
	}
	if *upstream == "" {
		return cli.Usagef("proxy: --upstream is required (the URL of the service behind the proxy)")
	}
	up, err := proxy.ParseUpstream(*upstream)
	if err != nil {
		return cli.Usagef("proxy: --upstream %v", err)
	}
	if err := proxy.CheckControlAddr(*control, *token); err != nil {
		return cli.Usagef("proxy: --control: %v", err)
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	p, err := proxy.New(proxy.Config{Upstream: up, Token: *token, Seed: *seed, Logger: logger, DrainTimeout: *drain})
	if err != nil {
		return cli.Usagef("proxy: %v", err)
	}
	for i, js := range *initial {
		s, err := faults.DecodeSpec([]byte(js))
		if err == nil {
			err = p.Add(s)
		}
		if err != nil {
			return cli.Usagef("proxy: --fault #%d: %v", i+1, err)
		}
	}
	data, err := net.Listen("tcp", *listen)
	if err != nil {
		return cli.Runf("proxy: --listen: %v", err)
	}
	ctl, err := net.Listen("tcp", *control)
	if err != nil {
		data.Close()
		return cli.Runf("proxy: --control: %v", err)
	}
	fmt.Fprintf(stdout, "proxy: http://%s → %s, control API on http://%s, seed %d\n", data.Addr(), up, ctl.Addr(), *seed)
	if err := p.Serve(ctx, data, ctl); err != nil {
		return cli.Runf("proxy: %v", err)
	}
	fmt.Fprintln(stdout, "proxy: stopped, faults removed")
	return nil
}

// proxyFlags are the flags of loadgen proxy, where their values land.
type proxyFlags struct {
	listen   *string
	upstream *string
	control  *string
	token    *string
	seed     *uint64
	initial  *[]string
	drain    *time.Duration
}

// newProxyFlags returns the FlagSet of loadgen proxy and where its values land,
// without running it: the CLI parses it, completion reads it. Its usage
// goes to stdout.
func newProxyFlags(stdout io.Writer) (*pflag.FlagSet, proxyFlags) {
	fs := newFlagSet("proxy", "proxy --upstream URL [--listen ADDR] [--control ADDR] [--control-token T] [--fault JSON]...", proxyExamples, stdout)
	listen := fs.String("listen", "127.0.0.1:8090", "address the proxied traffic arrives on")
	upstream := fs.String("upstream", "", "URL of the service behind the proxy (required), e.g. http://127.0.0.1:8080")
	control := fs.String("control", "127.0.0.1:8091", "address of the control API (GET/POST /faults, PUT/DELETE /faults/{name}, POST /reset); a non-loopback address needs --control-token")
	token := fs.String("control-token", "", "require \"Authorization: Bearer TOKEN\" on every control call (default $LOADGEN_PROXY_TOKEN, which keeps it out of ps)")
	seed := fs.Uint64("seed", 0, "seed of the per-request probability and jitter draws (0: from the clock, printed)")
	initial := fs.StringArray("fault", nil, "a fault in place from the start, as the control API's JSON (repeatable)")
	drain := fs.Duration("drain", 5*time.Second, "on shutdown, how long requests in flight may take to finish")
	return fs, proxyFlags{listen, upstream, control, token, seed, initial, drain}
}
