package runnertest

import (
	"bytes"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// Paired benchmarks a session's run against a bare loop doing the same
// exchange: the two alternate in blocks of 50 runs, so a machine that
// slows down or speeds up during the benchmark weighs on both alike. One
// run of each is made before the clock starts (each opens its
// connection). It reports each one's wall time per run (bare-ns/run,
// session-ns/run), the session's overhead over the bare loop
// (overhead-%), and this process's CPU time per run (user + system, all
// threads: bare-cpu-ns/run, session-cpu-ns/run), which a busy machine
// disturbs less than the wall time. ns/op is the mean of one run of each.
func Paired(b *testing.B, bare, session func()) {
	bare()
	session()
	const block = 50
	var wall, cpu [2]time.Duration
	var runs [2]int
	kind := 0
	t0, c0 := time.Now(), processCPU(b)
	n := 0
	for b.Loop() {
		if n > 0 && n%block == 0 {
			t1, c1 := time.Now(), processCPU(b)
			wall[kind] += t1.Sub(t0)
			cpu[kind] += c1 - c0
			t0, c0 = t1, c1
			kind = 1 - kind
		}
		if kind == 0 {
			bare()
		} else {
			session()
		}
		runs[kind]++
		n++
	}
	t1, c1 := time.Now(), processCPU(b)
	wall[kind] += t1.Sub(t0)
	cpu[kind] += c1 - c0
	if runs[0] == 0 || runs[1] == 0 {
		return // b.N too small to hold a block of each
	}
	per := func(d time.Duration, n int) float64 { return float64(d) / float64(n) }
	b.ReportMetric(per(wall[0], runs[0]), "bare-ns/run")
	b.ReportMetric(per(wall[1], runs[1]), "session-ns/run")
	b.ReportMetric(100*(per(wall[1], runs[1])/per(wall[0], runs[0])-1), "overhead-%")
	b.ReportMetric(per(cpu[0], runs[0]), "bare-cpu-ns/run")
	b.ReportMetric(per(cpu[1], runs[1]), "session-cpu-ns/run")
}

// processCPU is this process's CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BarePost is Paired's bare run: POST body to url over c, read the answer
// and discard it.
func BarePost(b *testing.B, c *http.Client, url string, body []byte) func() {
	return func() {
		resp, err := c.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatal(resp.Status)
		}
	}
}
