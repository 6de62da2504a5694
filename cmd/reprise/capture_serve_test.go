package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/fixtures/textgen/textgentest"
)

// TestGoldenCapture holds capture serve's usage errors to testdata.
func TestGoldenCapture(t *testing.T) {
	runGolden(t, []goldenCase{
		{"capture-serve-no-system", []string{"capture", "serve", "--upstream", "http://127.0.0.1:1", "--log", "x"}, exitUsage},
		{"capture-serve-bad-on-full", []string{"capture", "serve", "--system", "s.json", "--upstream", "http://127.0.0.1:1", "--log", "x", "--on-full", "wait"}, exitUsage},
		{"capture-serve-bad-sample-rate", []string{"capture", "serve", "--system", "s.json", "--upstream", "http://127.0.0.1:1", "--log", "x", "--sample-rate", "1.5"}, exitUsage},
	})
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy polls addr's /healthz until it answers 200.
func waitHealthy(t *testing.T, addr string, done <-chan struct{}, errb fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("capture serve exited before it was healthy: %s", errb)
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("capture serve never answered /healthz")
}

// captureTraffic runs capture serve in front of upstream, sends chat
// requests with and without seeds, streamed and not, then stops it (the
// context, as SIGTERM) and checks that every record was written. It
// returns the number of requests.
func captureTraffic(t *testing.T, st, sys, upstream, logDir string) int {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb bytes.Buffer
	done := make(chan struct{})
	code := -1
	go func() {
		defer close(done)
		code = execute(ctx, &streams{In: strings.NewReader(""), Out: &out, Err: &errb},
			[]string{"--store", st, "capture", "serve", "--system", sys, "--upstream", upstream, "--listen", addr, "--log", logDir,
				"--inject-seed", "--segment-rows", "3"})
	}()
	defer func() { cancel(); <-done }()
	waitHealthy(t, addr, done, &errb)
	n := 0
	for _, seed := range []string{`,"seed":11`, `,"seed":12`, ``, ``} {
		for _, stream := range []string{``, `,"stream":true`} {
			body := fmt.Sprintf(`{"model":"text-story","messages":[{"role":"system","content":"You write one sentence about the loan file."},{"role":"user","content":"Tell me what the officer"}],"temperature":0.9,"top_p":0.95,"max_tokens":24%s%s}`, seed, stream)
			resp, err := http.Post("http://"+addr+"/v1/chat/completions", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") == "" {
				t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
			}
			n++
		}
	}
	cancel()
	<-done
	if code != 0 || !strings.Contains(errb.String(), fmt.Sprintf("%d requests, %d recorded, 0 dropped, 3 segments", n, n)) {
		t.Fatalf("capture serve: exit %d\n%s", code, errb.String())
	}
	return n
}

// TestCaptureServeNightly closes the loop: the fixture text server behind
// capture serve, a client sending chat requests with and without seeds
// (--inject-seed), streamed and not; stopping the proxy drains every
// record into the segments; nightly over the segment directory replays
// them all REPRODUCED. A proxy planted in front of a server of other
// weights (the rag fixture's corpus, under the same model name) than its
// system file names (text-story 1.0) writes records that nightly (over a
// glob of the segments) replays every one DIVERGED.
func TestCaptureServeNightly(t *testing.T) {
	st := filepath.Join(t.TempDir(), "store")
	sys := textSystem(t, st, "sha256:"+strings.Repeat("1", 64), "1.0")
	up := textServer(t, "1.0")
	logDir := filepath.Join(t.TempDir(), "log")
	n := captureTraffic(t, st, sys, up.URL, logDir)
	good := filepath.Join(t.TempDir(), "good")
	r := cli(t, "", "--store", st, "nightly", "--log", logDir, "--runner", "endpoint", "--url", up.URL, "--out", good)
	if r.code != 0 || !strings.Contains(r.out, fmt.Sprintf("%d records over 1 system: %d reproduced, 0 diverged", n, n)) {
		t.Fatalf("nightly over the segments: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	plantedDir := filepath.Join(t.TempDir(), "planted")
	wrong := httptest.NewServer(textgentest.Handler(t, "text-story-1.0", "rag-reader-1.0"))
	defer wrong.Close()
	captureTraffic(t, st, sys, wrong.URL, plantedDir)
	bad := filepath.Join(t.TempDir(), "bad")
	r = cli(t, "", "--store", st, "nightly", "--log", filepath.Join(plantedDir, "seg-*.parquet"), "--runner", "endpoint", "--url", up.URL, "--out", bad, "-n", "200")
	// Every planted record's replay is DIVERGED (exactly: the seed probe
	// shows the server deterministic given the seed), and so is the night
	// after false-discovery control (exit 1).
	var rep struct {
		Records []struct {
			ReplayVerdict string `json:"replay_verdict"`
			Verdict       string `json:"verdict"`
		} `json:"records"`
	}
	b, _ := os.ReadFile(filepath.Join(bad, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Records) != n {
		t.Fatalf("planted night's report.json: %v, %d records", err, len(rep.Records))
	}
	for i, rec := range rep.Records {
		if rec.ReplayVerdict != "DIVERGED" || rec.Verdict != "DIVERGED" {
			t.Errorf("planted record %d: replay verdict %s, night verdict %s, want DIVERGED", i, rec.ReplayVerdict, rec.Verdict)
		}
	}
	if r.code != 1 {
		t.Fatalf("nightly of the planted proxy's records: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
}
