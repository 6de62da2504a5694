package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/fixtures/textgen/textgentest"
)

// unsolicited is what the hostile server sends after its first answer, on
// the idle keep-alive connection: a screen clear, a window title, a bell
// and a forged line of reprise's own output.
const unsolicited = "HTTP/1.1 200 OK\r\n\x1b[2J\x1b]0;pwned\x07\nreprise: FORGED REPRODUCED\n"

// hostileServer serves the fixture text model over the OpenAI API, but
// answers the first request of all (the readiness probe) by hand, with
// keep-alive, and writes unsolicited bytes right behind the answer: the
// client's transport finds them on the idle connection and reports them
// through the log package, quoting them.
func hostileServer(t *testing.T) (*httptest.Server, *atomic.Bool) {
	t.Helper()
	h := textgentest.Handler(t, "text-story-1.0", "text-story-1.0")
	var first, sent atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !first.CompareAndSwap(false, true) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if len(body) >= 256 { // the readiness probe reads at most 256 bytes before it closes the body
			body = []byte(`{"object":"list","data":[{"id":"text-story-1.0","object":"model"}]}`)
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: keep-alive\r\n\r\n%s%s",
			rec.Code, http.StatusText(rec.Code), len(body), body, unsolicited)
		if buf.Flush() == nil {
			sent.Store(true)
		}
		// Keep the connection open until the client drops it (it does on
		// the unsolicited bytes), so they are read on an idle connection.
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.Copy(io.Discard, bufio.NewReader(conn))
	}))
	t.Cleanup(srv.Close)
	return srv, &sent
}

// TestLibraryLogHostileServer: net/http's own log line about unsolicited
// bytes on an idle connection (which quotes a hostile server's bytes) goes
// through reprise's logger: nothing on stderr without -v; with -v one log
// record with the bytes escaped, no escape sequence or control character
// and no forged line. The default logger is restored afterwards.
func TestLibraryLogHostileServer(t *testing.T) {
	const img = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	st := filepath.Join(t.TempDir(), "store")
	rec := textRecord(t, st, img, "1.0", "req_hostile", "--text", "the officer smiled .")
	// The default logger writes to the process's stderr, which the
	// injected streams are not: proc stands for it.
	var proc bytes.Buffer
	orig := log.Writer()
	log.SetOutput(&proc)
	t.Cleanup(func() { log.SetOutput(orig) })
	for _, verbose := range []bool{false, true} {
		t.Run(fmt.Sprintf("verbose=%v", verbose), func(t *testing.T) {
			srv, sent := hostileServer(t)
			args := []string{"--store", st, "replay", rec, "-n", "10", "--runner", "endpoint", "--url", srv.URL, "--output", t.TempDir()}
			if verbose {
				args = append([]string{"-v"}, args...)
			}
			r := cli(t, "", args...)
			if r.code == 2 || r.code >= 4 {
				t.Fatalf("replay: exit %d\n%s\n%s", r.code, r.out, r.err)
			}
			if !sent.Load() {
				t.Fatal("the hostile server did not send its unsolicited bytes")
			}
			for _, bad := range []string{"\x1b", "\x07", "pwned\x07", "\nreprise: FORGED"} {
				if strings.Contains(r.err, bad) || strings.Contains(r.out, bad) {
					t.Errorf("output holds the server's raw bytes %q:\nstderr:\n%s", bad, r.err)
				}
			}
			if strings.Contains(r.out, "Unsolicited") {
				t.Errorf("a library log line reached stdout:\n%s", r.out)
			}
			if proc.Len() > 0 {
				t.Errorf("the library's log line went to the process's stderr:\n%q", proc.String())
			}
			logged := strings.Contains(r.err, "Unsolicited response received on idle HTTP channel")
			if !verbose {
				if logged || strings.Contains(r.err, "FORGED") {
					t.Errorf("without -v, stderr shows the library's log line:\n%s", r.err)
				}
				return
			}
			if !logged {
				t.Fatalf("with -v, stderr lacks the library's log line:\n%s", r.err)
			}
			for _, line := range strings.Split(r.err, "\n") {
				if strings.Contains(line, "FORGED") && !(strings.Contains(line, "Unsolicited") && strings.Contains(line, "level=WARN") && strings.Contains(line, `from="go log"`)) {
					t.Errorf("the server's bytes outside the one escaped log record: %q", line)
				}
			}
		})
	}
	if log.Writer() != &proc {
		t.Error("the default logger's output was not restored")
	}
}
