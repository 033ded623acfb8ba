// Package e2e is what the end-to-end tests share: the real binaries, built
// once per test binary, and the reference target started as a process or
// served in-process on free loopback ports. It is test support; nothing in
// the product imports it.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/goodput-dev/goodput/target"
)

// Binaries are the paths of the built loadgen and target.
type Binaries struct {
	Loadgen, Target string
}

// build builds both binaries once per test binary, into a directory that
// outlives the tests that use them (the OS cleans its temp dir).
var build = sync.OnceValues(func() (Binaries, error) {
	dir, err := os.MkdirTemp("", "goodput-e2e-")
	if err != nil {
		return Binaries{}, err
	}
	b := Binaries{Loadgen: filepath.Join(dir, "loadgen"), Target: filepath.Join(dir, "target")}
	for name, path := range map[string]string{"loadgen": b.Loadgen, "target": b.Target} {
		out, err := exec.Command("go", "build", "-o", path, "github.com/goodput-dev/goodput/cmd/"+name).CombinedOutput()
		if err != nil {
			return Binaries{}, errors.New("go build " + name + ": " + err.Error() + "\n" + string(out))
		}
	}
	return b, nil
})

// Build returns the built binaries, building them on first use.
func Build(t testing.TB) Binaries {
	t.Helper()
	b, err := build()
	require.NoError(t, err)
	return b
}

// SyncBuffer is a bytes.Buffer safe for concurrent use: a process's output
// read while the process may still write it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// listening is the line target prints on stdout when it is ready.
var listening = regexp.MustCompile(`^target: listening on (http://127\.0\.0\.1:\d+) \(admin (http://127\.0\.0\.1:\d+)\)$`)

// StartTarget starts the target binary with args on free loopback ports
// and returns its API and admin base URLs. When the test ends the process
// gets SIGTERM and must exit 0 (a clean drain).
func StartTarget(t testing.TB, args ...string) (api, admin string) {
	t.Helper()
	cmd := exec.Command(Build(t).Target, append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr SyncBuffer // read while the process may still write it
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	first := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-copied
		assert.NoError(t, cmd.Wait(), "target exit; stderr:\n%s", stderr.String())
	})
	select {
	case line := <-first:
		m := listening.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("target's first line %q is not its address", line)
		}
		return m[1], m[2]
	case <-time.After(30 * time.Second):
		t.Fatalf("target printed no address in 30s; stderr:\n%s", stderr.String())
		return "", ""
	}
}

// Serve serves srv in-process on free 127.0.0.1 ports and returns its API
// and admin base URLs, and stop, which ends it and asserts a clean drain.
// stop may be called more than once; it also runs when the test ends.
func Serve(t testing.TB, srv *target.Server) (api, admin string, stop func()) {
	t.Helper()
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	adminLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		apiLn.Close()
		require.NoError(t, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, apiLn, adminLn) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			assert.NoError(t, <-done, "target")
		})
	}
	t.Cleanup(stop)
	return "http://" + apiLn.Addr().String(), "http://" + adminLn.Addr().String(), stop
}

// UpTo runs a timing-sensitive check up to n times on a shared, noisy
// machine and fails the test only when every try failed: a systematic
// fault fails all of them, a burst of load from other processes does not.
func UpTo(t testing.TB, n int, check func() error) {
	t.Helper()
	for try := 1; ; try++ {
		err := check()
		if err == nil {
			return
		}
		t.Logf("try %d of %d: %v", try, n, err)
		if try == n {
			t.Fatalf("failed %d tries", n)
		}
	}
}
