package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/reprise-dev/reprise/capture/proxy"
	"github.com/reprise-dev/reprise/fixtures/gobuild"
)

// arrowRequestIDs reads the request_id column of a Parquet file with
// Apache Arrow's reader (independent of the writer's parquet-go).
func arrowRequestIDs(t *testing.T, path string) []string {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("%s: arrow: %v", path, err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("%s: arrow: %v", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("%s: arrow: %v", path, err)
	}
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices("request_id")
	if len(idx) != 1 {
		t.Fatalf("%s: no request_id column", path)
	}
	var ids []string
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		s := chunk.(*array.String)
		for i := range s.Len() {
			ids = append(ids, s.Value(i))
		}
	}
	return ids
}

// load sends seeded chat requests from c clients until stop, with ids
// prefix-<n>, and returns the ids answered 200.
func load(addr, prefix string, c int, stop <-chan struct{}) []string {
	var mu sync.Mutex
	var ok []string
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 10 * time.Second}
	for w := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				req, _ := http.NewRequest("POST", "http://"+addr+"/v1/chat/completions",
					strings.NewReader(fmt.Sprintf(`{"messages":[{"role":"user","content":"the officer"}],"max_tokens":8,"seed":%d}`, i)))
				req.Header.Set("X-Request-Id", id)
				resp, err := hc.Do(req)
				if err != nil {
					continue
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					ok = append(ok, id)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return ok
}

// TestCaptureServeKill: capture serve (--on-full block: no record is
// dropped, so every missing one is lost) killed with SIGKILL under load, then
// restarted and stopped with SIGTERM under load. Every segment left reads
// with an independent Parquet reader (Arrow's), no record is in two
// segments, no temporary file survives the restart, the records lost to
// the kill are at most --queue + --segment-rows, and SIGTERM loses none.
func TestCaptureServeKill(t *testing.T) {
	bin := gobuild.Build(t, "./cmd/reprise")
	st := filepath.Join(t.TempDir(), "store")
	sys := textSystem(t, st, "sha256:"+strings.Repeat("1", 64), "1.0")
	up := textServer(t, "1.0")
	dir := filepath.Join(t.TempDir(), "log")
	const queue, rows = 50, 20
	start := func() (*exec.Cmd, string, *bytes.Buffer) {
		addr := freeAddr(t)
		var errb bytes.Buffer
		cmd := exec.Command(bin, "--store", st, "capture", "serve", "--system", sys, "--upstream", up.URL, "--listen", addr, "--log", dir,
			"--queue", fmt.Sprint(queue), "--segment-rows", fmt.Sprint(rows), "--segment-age", "1h", "--on-full", "block")
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		waitHealthy(t, addr, nil, &errb)
		return cmd, addr, &errb
	}
	p1, addr, _ := start()
	stop := make(chan struct{})
	var sent1 []string
	done := make(chan struct{})
	go func() { sent1 = load(addr, "k1", 4, stop); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for n := 0; n < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		segs, _ := proxy.Segments(dir)
		n = len(segs)
	}
	p1.Process.Signal(syscall.SIGKILL)
	p1.Wait()
	close(stop)
	<-done
	p2, addr, errb := start()
	stop = make(chan struct{})
	var sent2 []string
	done = make(chan struct{})
	go func() { sent2 = load(addr, "k2", 4, stop); close(done) }()
	time.Sleep(300 * time.Millisecond)
	p2.Process.Signal(syscall.SIGTERM)
	if err := p2.Wait(); err != nil {
		t.Fatalf("capture serve after SIGTERM: %v\n%s", err, errb)
	}
	close(stop)
	<-done
	checkKilledLog(t, dir, sent1, sent2, queue+rows)
}

// checkKilledLog checks the log after the kill and the restart.
func checkKilledLog(t *testing.T, dir string, sent1, sent2 []string, bound int) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left after the restart", e.Name())
		}
	}
	segs, err := proxy.Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range segs {
		for _, id := range arrowRequestIDs(t, s) {
			if seen[id] {
				t.Errorf("request %s recorded twice", id)
			}
			seen[id] = true
		}
	}
	lost := 0
	for _, id := range sent1 {
		if !seen[id] {
			lost++
		}
	}
	for _, id := range sent2 {
		if !seen[id] {
			t.Errorf("request %s, answered before SIGTERM, is not recorded", id)
		}
	}
	if lost > bound || len(sent1) == 0 || len(sent2) == 0 {
		t.Errorf("kill -9: %d of %d answered requests lost (bound %d); %d answered after the restart", lost, len(sent1), bound, len(sent2))
	}
	t.Logf("%d segments; before the kill %d answered, %d lost (bound %d); after the restart %d answered, all recorded", len(segs), len(sent1), lost, bound, len(sent2))
}
