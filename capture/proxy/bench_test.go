package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The overhead of the proxy against direct calls to the same upstream on
// the same machine, in one process: the upstream (the fixture text model's
// OpenAI API), the proxy in front of it with a real writer (a store and a
// log directory under the test's temporary directory, default
// WriterOptions, every request recorded at tier full) and the clients.
// Direct and proxied rounds alternate (ABBA), so drift in the machine's
// load falls on both.
//
//	go test ./capture/proxy -run '^$' -bench Overhead -benchtime 20x
//
// b.N is the number of pairs of rounds (one second each, direct and
// proxied). The sub-benchmarks:
//   - rate500: an open loop at 500 requests/s; p50 and p99 latency of each
//     side and their differences (added-p50-ms, added-p99-ms).
//   - saturation: benchClients clients back to back against an upstream
//     bound by its accelerator (accelSlots requests at a time, each at
//     least accelService): the throughput of each side and their ratio.
//     A proxied round lasts until the writer's queue is empty, so the
//     records it queued are paid for in its own time.
//   - saturation-cpu: the same against the bare fixture (no service time):
//     the proxy competes with the upstream and the clients for the CPU, so
//     this ratio is the proxy's CPU cost, not a deployment's throughput.
//   - soak: benchClients clients through the proxy to the bare fixture for
//     REPRISE_SOAK (default 10s; once, whatever b.N), sampling the heap
//     and the RSS every 250ms: their maxima, per minute in the log.
const (
	benchRate    = 500
	benchRound   = time.Second
	benchClients = 64
	accelSlots   = 8
	accelService = 20 * time.Millisecond
)

func BenchmarkOverhead(b *testing.B) {
	b.Run("rate500", benchOpenLoop)
	b.Run("saturation", func(b *testing.B) { benchSaturation(b, true) })
	b.Run("saturation-cpu", func(b *testing.B) { benchSaturation(b, false) })
	b.Run("soak", benchSoak)
}

// accelerator serves h at most slots requests at a time, each taking at
// least service: an inference server whose throughput is its
// accelerator's, not its CPU's.
func accelerator(h http.Handler, slots int, service time.Duration) http.Handler {
	sem := make(chan struct{}, slots)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sem <- struct{}{}
		defer func() { <-sem }()
		time.Sleep(service)
		h.ServeHTTP(w, r)
	})
}

// benchLoad sends completions requests directly or through the proxy.
type benchLoad struct {
	rig            *rig
	direct, viaURL string
	dc, pc         *http.Client
	seq            atomic.Int64
}

func newBenchLoad(b *testing.B, accel bool) *benchLoad {
	b.Helper()
	h := textHandler(b, "1.0")
	if accel {
		h = accelerator(h, accelSlots, accelService)
	}
	up := httptest.NewServer(h)
	b.Cleanup(up.Close)
	r := newRig(b, up.URL, Config{}, WriterOptions{})
	client := func() *http.Client {
		return &http.Client{Transport: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	}
	return &benchLoad{rig: r, direct: up.URL + "/v1/completions", viaURL: r.srv.URL + "/v1/completions", dc: client(), pc: client()}
}

// send posts one request (65536 distinct bodies, so the store holds a
// bounded number of blobs) and reads its answer.
func (l *benchLoad) send(viaProxy bool) error {
	i := l.seq.Add(1) % (1 << 16)
	body := fmt.Appendf(nil, `{"model":"text-story-1.0","prompt":"the officer %d","max_tokens":16,"seed":%d,"temperature":0.8}`, i%97, i)
	c, u := l.dc, l.direct
	if viaProxy {
		c, u = l.pc, l.viaURL
	}
	resp, err := c.Post(u, "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// openLoop sends n requests at rate, each on its own goroutine (a slow
// answer does not delay the next request), and returns their latencies.
func (l *benchLoad) openLoop(viaProxy bool, n int, rate float64) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	interval := time.Duration(float64(time.Second) / rate)
	t0 := time.Now()
	for i := range n {
		if d := time.Until(t0.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		wg.Go(func() {
			t := time.Now()
			if err := l.send(viaProxy); err != nil {
				first.CompareAndSwap(nil, &err)
			}
			lat[i] = time.Since(t)
		})
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return nil, *err
	}
	return lat, nil
}

// closedLoop runs k clients back to back for d and returns the number of
// answers; a proxied round then waits for the writer's queue to empty.
// The elapsed time includes that wait.
func (l *benchLoad) closedLoop(viaProxy bool, k int, d time.Duration) (int64, time.Duration, error) {
	var n atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	t0 := time.Now()
	end := t0.Add(d)
	for range k {
		wg.Go(func() {
			for time.Now().Before(end) {
				if err := l.send(viaProxy); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	for viaProxy && l.rig.p.m.QueueDepth.Load() > 0 {
		time.Sleep(time.Millisecond)
	}
	if err := first.Load(); err != nil {
		return 0, 0, *err
	}
	return n.Load(), time.Since(t0), nil
}

// pct is the q-quantile of lat (nearest rank).
func pct(lat []time.Duration, q float64) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rounds calls f for b.N pairs of rounds, direct and proxied in ABBA order.
func rounds(b *testing.B, f func(viaProxy bool) error) {
	b.ResetTimer()
	for i := range b.N {
		for j := range 2 {
			if err := f((i+j)%2 == 1); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
}

// reportRecords closes the rig and reports the records written and
// dropped, and what creating a small file in the log's directory costs
// now (the writer creates one per blob): a figure of the machine's disk.
func (l *benchLoad) reportRecords(b *testing.B) {
	l.rig.close()
	m := l.rig.p.m
	b.ReportMetric(float64(m.Recorded.Load()), "recorded")
	b.ReportMetric(float64(m.Dropped.Load()), "dropped")
	const n = 200
	t0 := time.Now()
	for i := range n {
		if err := os.WriteFile(fmt.Sprintf("%s/.probe-%d", l.rig.dir, i), make([]byte, 512), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Microseconds())/n, "create-µs")
}

func benchOpenLoop(b *testing.B) {
	l := newBenchLoad(b, false)
	per := int(benchRate * benchRound.Seconds())
	for _, via := range []bool{false, true} { // connection pools, caches
		if _, _, err := l.closedLoop(via, benchClients, benchRound); err != nil {
			b.Fatal(err)
		}
		if _, err := l.openLoop(via, per/5, benchRate); err != nil {
			b.Fatal(err)
		}
	}
	var lat [2][]time.Duration
	var pairs [2][][]time.Duration // per pair of rounds: direct, proxied
	rounds(b, func(via bool) error {
		d, err := l.openLoop(via, per, benchRate)
		k := 0
		if via {
			k = 1
		}
		lat[k] = append(lat[k], d...)
		pairs[k] = append(pairs[k], d)
		return err
	})
	dp50, dp99 := pct(lat[0], 0.5), pct(lat[0], 0.99)
	pp50, pp99 := pct(lat[1], 0.5), pct(lat[1], 0.99)
	b.ReportMetric(ms(dp50), "direct-p50-ms")
	b.ReportMetric(ms(dp99), "direct-p99-ms")
	b.ReportMetric(ms(pp50), "proxy-p50-ms")
	b.ReportMetric(ms(pp99), "proxy-p99-ms")
	b.ReportMetric(ms(pp50-dp50), "added-p50-ms")
	b.ReportMetric(ms(pp99-dp99), "added-p99-ms")
	// The median over pairs of the difference in each pair: a round that
	// a burst of the machine's other load hit counts once.
	var a50, a99 []time.Duration
	for i := range pairs[0] {
		a50 = append(a50, pct(pairs[1][i], 0.5)-pct(pairs[0][i], 0.5))
		a99 = append(a99, pct(pairs[1][i], 0.99)-pct(pairs[0][i], 0.99))
	}
	b.ReportMetric(ms(pct(a50, 0.5)), "pairs-added-p50-ms")
	b.ReportMetric(ms(pct(a99, 0.5)), "pairs-added-p99-ms")
	b.Logf("%d requests each way at %d/s: direct p50 %v p99 %v, proxied p50 %v p99 %v; per pair, added p50 %v, p99 %v",
		len(lat[0]), benchRate, dp50, dp99, pp50, pp99, a50, a99)
	l.reportRecords(b)
}

func benchSaturation(b *testing.B, accel bool) {
	l := newBenchLoad(b, accel)
	for _, via := range []bool{false, true} {
		if _, _, err := l.closedLoop(via, benchClients, benchRound/5); err != nil {
			b.Fatal(err)
		}
	}
	var n [2]int64
	var t [2]time.Duration
	rounds(b, func(via bool) error {
		c, d, err := l.closedLoop(via, benchClients, benchRound)
		k := 0
		if via {
			k = 1
		}
		n[k] += c
		t[k] += d
		return err
	})
	dr, pr := float64(n[0])/t[0].Seconds(), float64(n[1])/t[1].Seconds()
	b.ReportMetric(dr, "direct-req/s")
	b.ReportMetric(pr, "proxy-req/s")
	b.ReportMetric(pr/dr, "ratio")
	l.reportRecords(b)
}

// soakDuration is REPRISE_SOAK (a Go duration), 10s when unset.
func soakDuration(b *testing.B) time.Duration {
	v := os.Getenv("REPRISE_SOAK")
	if v == "" {
		return 10 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("REPRISE_SOAK=%q: %v", v, err)
	}
	return d
}

// rssBytes is the process's resident set (VmRSS), 0 when unknown.
func rssBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func benchSoak(b *testing.B) {
	d := soakDuration(b)
	l := newBenchLoad(b, false)
	const mib = 1 << 20
	type peak struct{ heap, rss uint64 }
	var mu sync.Mutex
	var perMin []peak
	stop := make(chan struct{})
	sampled := make(chan struct{})
	t0 := time.Now()
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			runtime.ReadMemStats(&ms)
			rss := rssBytes()
			mu.Lock()
			i := int(time.Since(t0) / time.Minute)
			for len(perMin) <= i {
				perMin = append(perMin, peak{})
			}
			perMin[i].heap = max(perMin[i].heap, ms.HeapInuse)
			perMin[i].rss = max(perMin[i].rss, rss)
			mu.Unlock()
		}
	}()
	b.ResetTimer()
	n, el, err := l.closedLoop(true, benchClients, d)
	b.StopTimer()
	close(stop)
	<-sampled
	if err != nil {
		b.Fatal(err)
	}
	var top peak
	for i, p := range perMin {
		top.heap, top.rss = max(top.heap, p.heap), max(top.rss, p.rss)
		b.Logf("minute %d: heap in use at most %d MiB, RSS at most %d MiB", i, p.heap/mib, p.rss/mib)
	}
	// Bounded, not growing: the last minute's peak within twice the
	// first's (a leak of a few bytes per request grows past that).
	if last := perMin[len(perMin)-1]; len(perMin) >= 3 && last.heap > 2*perMin[0].heap {
		b.Errorf("heap in use grew: %d MiB in the first minute, %d MiB in the last", perMin[0].heap/mib, last.heap/mib)
	}
	b.ReportMetric(float64(n)/el.Seconds(), "proxy-req/s")
	b.ReportMetric(float64(top.heap)/mib, "max-heap-MiB")
	b.ReportMetric(float64(top.rss)/mib, "max-rss-MiB")
	l.reportRecords(b)
}
