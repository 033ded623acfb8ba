// Package chromium opens pages in real headless chromium (Debian's
// package) for the tests of the HTML reports: each page in a tab of its
// own, with what it logged and what it fetched while it loaded. It is test
// support; nothing in the product imports it.
package chromium

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Path is where Debian's chromium package installs the browser.
const Path = "/usr/bin/chromium"

// Start starts headless chromium, with its profile in dir, for at most
// 45 s, and returns the context its tabs open in; it ends at t's cleanup.
// It fails t, naming the package to install, when chromium is missing:
// a test that needs a browser never passes without one.
func Start(t testing.TB, dir string) context.Context {
	t.Helper()
	if _, err := exec.LookPath(Path); err != nil {
		t.Fatalf("chromium not found (%v): install the Debian package chromium (apt-get install -y chromium; .ci/run does)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	browser, cancelBrowser := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(Path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.WindowSize(1360, 900),
	)
	t.Cleanup(cancelBrowser)
	return browser
}

// Page is one page open in a tab: Ctx runs chromedp actions on it.
type Page struct {
	Ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	problems []string // console errors and warnings, exceptions, log errors
	requests []string // every URL the page requested, itself first
}

// Open opens url in a new tab of browser (from Start) and waits until it
// has loaded; the tab closes with Close or at t's cleanup.
func Open(t testing.TB, browser context.Context, url string) *Page {
	t.Helper()
	p := &Page{}
	p.Ctx, p.cancel = chromedp.NewContext(browser, chromedp.WithListener(p.listen))
	t.Cleanup(p.cancel)
	if err := chromedp.Do(p.Ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s in chromium: %v", url, err)
	}
	return p
}

// listen keeps what the page logged and fetched.
func (p *Page) listen(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		switch ev.Type {
		case runtime.ConsoleAPICalledTypeError, runtime.ConsoleAPICalledTypeWarning, runtime.ConsoleAPICalledTypeAssert:
			p.problems = append(p.problems, fmt.Sprintf("console.%s %v", ev.Type, ev.Args))
		}
	case *runtime.EventExceptionThrown:
		p.problems = append(p.problems, "exception: "+ev.ExceptionDetails.Text)
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
			p.problems = append(p.problems, fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL))
		}
	case *network.EventRequestWillBeSent:
		p.requests = append(p.requests, ev.Request.URL)
	}
}

// Close closes the tab and returns what the page logged as a problem
// (console errors, warnings and failed assertions, uncaught exceptions,
// log errors and warnings) and every URL it requested.
func (p *Page) Close() (problems, requests []string) {
	p.cancel()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.problems, p.requests
}
