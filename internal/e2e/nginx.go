package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// nginxBinary is where Debian's nginx-light puts nginx.
const nginxBinary = "/usr/sbin/nginx"

// Nginx is a real nginx (Debian's nginx-light) serving the server blocks a
// test gave it on a free 127.0.0.1 port, in a directory of its own that
// holds its configuration, logs and temporary files. Not safe for
// concurrent use.
type Nginx struct {
	// Port is the free 127.0.0.1 port the server blocks listen on.
	Port int
	// Dir is nginx's prefix: nginx.conf, access.log, error.log, nginx.pid.
	Dir string

	cmd    *exec.Cmd
	stderr SyncBuffer
	exited chan struct{} // closed once cmd.Wait returned
	err    error         // cmd.Wait's error, read after exited is closed
	once   sync.Once
}

// NginxRequest is one line of the access log StartNginx configures: what
// nginx received and what it answered.
type NginxRequest struct {
	Method       string `json:"method"`        // $request_method
	URI          string `json:"uri"`           // $uri: the path, without the query
	Protocol     string `json:"protocol"`      // $server_protocol: HTTP/1.1, HTTP/2.0
	XTest        string `json:"x_test"`        // $http_x_test: the X-Test request header
	Body         string `json:"body"`          // $request_body: filled only where nginx read the body (proxy_pass)
	ClientVerify string `json:"client_verify"` // $ssl_client_verify: SUCCESS, NONE, FAILED:reason; "" without TLS
	Status       int    `json:"status"`        // $status
}

// nginxConf is the configuration around the test's server blocks: one
// worker, logs and temporary files under @DIR@, and an access log of JSON
// lines (see NginxRequest).
const nginxConf = `worker_processes 1;
error_log @DIR@/error.log warn;
@USER@
events { worker_connections 1024; }
http {
	client_body_temp_path @DIR@/body-temp;
	proxy_temp_path @DIR@/proxy-temp;
	fastcgi_temp_path @DIR@/fastcgi-temp;
	uwsgi_temp_path @DIR@/uwsgi-temp;
	scgi_temp_path @DIR@/scgi-temp;
	default_type text/plain;
	log_format e2e escape=json '{"method":"$request_method","uri":"$uri","protocol":"$server_protocol",'
		'"x_test":"$http_x_test","body":"$request_body","client_verify":"$ssl_client_verify","status":$status}';
	access_log @DIR@/access.log e2e;
@SERVERS@
}
`

// StartNginx starts nginx with servers, the server blocks of its http
// context, in which @PORT@ stands for the free port and @DIR@ for its
// directory (short enough for a unix socket path). It returns once nginx
// accepts connections on the port; a port taken in the meantime is
// retried with another. When the test ends nginx is stopped (see Stop).
// A machine without nginx fails the test, naming the package to install.
func StartNginx(t testing.TB, servers string) *Nginx {
	t.Helper()
	bin := nginxBinary
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nginx"); err != nil {
			t.Fatalf("nginx not found at %s or on $PATH: install the Debian package nginx-light (apt-get install -y nginx-light; .ci/run does)", nginxBinary)
		}
	}
	// os.MkdirTemp rather than t.TempDir: a unix socket's path must stay
	// under 108 bytes, and a test's name can be long.
	dir, err := os.MkdirTemp("", "nginx")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	for try := 1; ; try++ {
		n, err := startNginx(bin, dir, servers)
		if err == nil {
			t.Cleanup(func() { n.Stop(t) })
			return n
		}
		if !errors.Is(err, errPortTaken) || try == 5 {
			t.Fatalf("start nginx: %v", err)
		}
		t.Logf("start nginx, try %d: %v", try, err)
	}
}

// errPortTaken says the free port was taken before nginx could bind it.
var errPortTaken = errors.New("port taken before nginx bound it")

// startNginx writes the configuration into dir and starts nginx on a
// port free a moment ago, waiting up to 15 s for it to listen.
func startNginx(bin, dir, servers string) (*Nginx, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := ln.Close(); err != nil {
		return nil, err
	}
	user := "" // the workers run as the user that started nginx
	if os.Geteuid() == 0 {
		user = "user root;" // rather than nobody, who cannot write the test's directory
	}
	conf := strings.NewReplacer("@SERVERS@", servers, "@USER@", user).Replace(nginxConf)
	conf = strings.NewReplacer("@PORT@", strconv.Itoa(port), "@DIR@", dir).Replace(conf)
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	errLog := filepath.Join(dir, "error.log")
	_ = os.Remove(errLog) // a failed try's
	n := &Nginx{Port: port, Dir: dir, exited: make(chan struct{})}
	n.cmd = exec.Command(bin, "-p", dir, "-c", confPath, "-e", errLog,
		"-g", "daemon off; pid "+filepath.Join(dir, "nginx.pid")+";")
	n.cmd.Stdout, n.cmd.Stderr = &n.stderr, &n.stderr
	if err := n.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", bin, err)
	}
	go func() {
		n.err = n.cmd.Wait()
		close(n.exited)
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case <-n.exited:
			log := n.errorLog()
			if strings.Contains(log, "Address already in use") {
				return nil, fmt.Errorf("%w: %s", errPortTaken, addr)
			}
			return nil, fmt.Errorf("nginx exited (%v) before listening on %s:\n%s\n%s\nconfiguration:\n%s", n.err, addr, n.stderr.String(), log, conf)
		case <-poll.C:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return n, nil
		}
		if time.Now().After(deadline) {
			_ = n.cmd.Process.Kill()
			<-n.exited
			return nil, fmt.Errorf("nginx not listening on %s within 15 s:\n%s", addr, n.errorLog())
		}
	}
}

// errorLog returns nginx's error log, or why it could not be read.
func (n *Nginx) errorLog() string {
	b, err := os.ReadFile(filepath.Join(n.Dir, "error.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Stop ends nginx gracefully (SIGQUIT: the requests in flight finish and
// are logged) and waits for it to exit, killing it after 15 s; it asserts
// that nginx exited cleanly. Stop may be called more than once; it also
// runs when the test ends.
func (n *Nginx) Stop(t testing.TB) {
	t.Helper()
	n.once.Do(func() {
		_ = n.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-n.exited:
		case <-time.After(15 * time.Second):
			_ = n.cmd.Process.Kill()
			<-n.exited
			t.Errorf("nginx did not stop within 15 s of SIGQUIT; killed")
		}
		assert.NoError(t, n.err, "nginx exit; output:\n%s\nerror log:\n%s", n.stderr.String(), n.errorLog())
	})
}

// Requests stops nginx, so that every request it served is in its access
// log, and returns the log's lines in order.
func (n *Nginx) Requests(t testing.TB) []NginxRequest {
	t.Helper()
	n.Stop(t)
	b, err := os.ReadFile(filepath.Join(n.Dir, "access.log"))
	require.NoError(t, err)
	var out []NginxRequest
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for line := 1; sc.Scan(); line++ {
		var r NginxRequest
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "access.log:%d: %s", line, sc.Text())
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}
