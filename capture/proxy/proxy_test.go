package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fixtures/textgen/textgentest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

func fx(parts ...string) string {
	return filepath.Join(append([]string{"..", "..", "fixtures"}, parts...)...)
}

// textUpstream serves the fixture text model of version over the OpenAI API.
func textUpstream(t testing.TB, version string) *httptest.Server {
	t.Helper()
	return textgentest.Server(t, version)
}

// textHandler is the fixture text model of version's OpenAI API.
func textHandler(t testing.TB, version string) http.Handler {
	t.Helper()
	return textgentest.Handler(t, "text-story-"+version, "text-story-"+version)
}

// textTarget is the system file of the fixture text model 1.0 (openai).
func textTarget(t testing.TB, st *store.Layout) launch.Target {
	t.Helper()
	img, _ := system.ParseImageRef("sha256:" + strings.Repeat("1", 64))
	f, err := capture.BuildSystem(context.Background(), st, capture.Parts{Image: img, Protocol: "openai", HardwareClass: "cpu/amd64/x86-64-v1",
		Model: capture.Source{Path: fx("models", "text-story-1.0.txt")}, ModelVersion: "1.0",
		Config: capture.Source{Path: fx("configs", "text-params-1.json")}})
	if err != nil {
		t.Fatal(err)
	}
	return launch.Target{System: f.System, Protocol: f.Runtime.Protocol, HardwareClass: f.Runtime.HardwareClass}
}

type rig struct {
	st    *store.Layout
	dir   string
	w     *Writer
	p     *Proxy
	srv   *httptest.Server
	up    string
	tgt   launch.Target
	close func()
}

// newRig runs a proxy in front of upstream (the text model 1.0 when "").
func newRig(t testing.TB, upstream string, cfg Config, wo WriterOptions) *rig {
	t.Helper()
	st, err := store.Init(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	if upstream == "" {
		upstream = textUpstream(t, "1.0").URL
	}
	r := &rig{st: st, dir: filepath.Join(t.TempDir(), "log"), up: upstream, tgt: textTarget(t, st)}
	if r.w, err = NewWriter(r.dir, st.NewBatch(), wo); err != nil {
		t.Fatal(err)
	}
	cfg.Upstream, _ = url.Parse(upstream)
	cfg.Target, cfg.Writer = r.tgt, r.w
	if r.p, err = New(cfg); err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(r.p)
	closed := false
	r.close = func() {
		if !closed {
			closed = true
			r.srv.Close()
			if err := r.w.Close(); err != nil {
				t.Errorf("writer: %v", err)
			}
		}
	}
	t.Cleanup(r.close)
	return r
}

func post(t testing.TB, base, path, id, body string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.Header.Set(RequestIDHeader, id)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// readLog reads every record of the segments in dir.
func readLog(t testing.TB, dir string) []*record.Record {
	t.Helper()
	paths, err := Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*record.Record
	for _, p := range paths {
		recs = append(recs, readLogFile(t, p)...)
	}
	return recs
}

// readLogFile reads the records of one log file.
func readLogFile(t testing.TB, p string) []*record.Record {
	t.Helper()
	var recs []*record.Record
	{
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		l, err := record.OpenParquetLog(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		l.Scan(record.ScanOptions{}, func(_ int64, rec *record.Record, err error) bool {
			if err != nil {
				t.Errorf("%s: %v", p, err)
				return true
			}
			recs = append(recs, rec)
			return true
		})
	}
	return recs
}

func byID(recs []*record.Record) map[string]*record.Record {
	m := map[string]*record.Record{}
	for _, r := range recs {
		m[r.RequestID] = r
	}
	return m
}

const chat = `{"model":"text-story-1.0","messages":[{"role":"user","content":"the officer"}],"max_tokens":16%s}`

// TestRecords: seeded and unseeded, streamed and not, chat and
// completions requests are passed through and recorded with the system
// file's version, the exact request bytes in the store, the params, and
// the canonical output digest (a streamed answer's is the unstreamed
// one's); --inject-seed's records say so.
func TestRecords(t *testing.T) {
	r := newRig(t, "", Config{InjectSeed: true}, WriterOptions{SegmentRows: 3})
	bodies := map[string]string{
		"seeded":        fmt.Sprintf(chat, `,"seed":7,"temperature":0.9`),
		"unseeded":      fmt.Sprintf(chat, ``),
		"stream":        fmt.Sprintf(chat, `,"seed":7,"temperature":0.9,"stream":true`),
		"stream-nosd":   fmt.Sprintf(chat, `,"stream":true`),
		"completion":    `{"model":"text-story-1.0","prompt":"the officer","max_tokens":8,"seed":3}`,
		"completion-st": `{"model":"text-story-1.0","prompt":"the officer","max_tokens":8,"seed":3,"stream":true}`,
	}
	answers := map[string][]byte{}
	for id, b := range bodies {
		path := "/v1/chat/completions"
		if strings.HasPrefix(id, "completion") {
			path = "/v1/completions"
		}
		resp, body := post(t, r.srv.URL, path, id, b)
		if resp.StatusCode != 200 || resp.Header.Get(RequestIDHeader) != id {
			t.Fatalf("%s: %d %s %s", id, resp.StatusCode, resp.Header.Get(RequestIDHeader), body)
		}
		if strings.Contains(b, `"stream":true`) != strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Errorf("%s: content type %s", id, resp.Header.Get("Content-Type"))
		}
		answers[id] = body
	}
	resp, _ := post(t, r.srv.URL, "/v1/chat/completions", "", bodies["seeded"])
	gen := resp.Header.Get(RequestIDHeader)
	if !strings.HasPrefix(gen, "req_") {
		t.Errorf("generated request id %q", gen)
	}
	r.close()
	recs := byID(readLog(t, r.dir))
	if len(recs) != 7 || recs[gen] == nil {
		t.Fatalf("%d records, want 7 (with %s)", len(recs), gen)
	}
	for id, rec := range recs {
		if probs := rec.Validate(); len(probs) > 0 {
			t.Errorf("%s: %v", id, probs)
		}
		if rec.System.ID != r.tgt.System.ID || rec.Runtime.Protocol != "openai" || rec.Params.Seed == nil {
			t.Errorf("%s: system %s protocol %s seed %v", id, rec.System.ID, rec.Runtime.Protocol, rec.Params.Seed)
		}
		if b, ok := bodies[id]; ok {
			in, err := r.st.ReadAll(context.Background(), rec.Input.Digest)
			if err != nil || string(in) != b {
				t.Errorf("%s: stored input %q, %v; want the exact request bytes", id, in, err)
			}
		}
		injected := rec.Runtime.Env != nil && rec.Runtime.Env.Driver == SeedInjected
		if injected != (id == "unseeded" || id == "stream-nosd") {
			t.Errorf("%s: injected %v", id, injected)
		}
	}
	if *recs["seeded"].Params.Seed != 7 || *recs["seeded"].Params.Temperature != 0.9 {
		t.Errorf("params %+v", recs["seeded"].Params)
	}
	// A stream and its unstreamed twin: one output, one digest.
	for _, pair := range [][2]string{{"seeded", "stream"}, {"completion", "completion-st"}} {
		a, b := recs[pair[0]], recs[pair[1]]
		if a.Output.Digest != b.Output.Digest || *a.Output.Text != *b.Output.Text || *a.Output.Text == "" {
			t.Errorf("%s vs %s: %s %q vs %s %q", pair[0], pair[1], a.Output.Digest, *a.Output.Text, b.Output.Digest, *b.Output.Text)
		}
	}
	if !strings.Contains(string(answers["stream"]), "data: [DONE]") {
		t.Errorf("stream answer %q", answers["stream"])
	}
	if n := len(mustSegments(t, r.dir)); n != 3 {
		t.Errorf("%d segments, want 3 (7 records, 3 a segment)", n)
	}
}

func mustSegments(t testing.TB, dir string) []string {
	p, err := Segments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTiersAndHashOnly: --input hash-only and the hash tier store no
// request bytes; hash stores no response either; the rows hold the
// digests all the same.
func TestTiersAndHashOnly(t *testing.T) {
	r := newRig(t, "", Config{Input: InputHashOnly, Tiers: map[string]Tier{"/v1/completions": TierHash}}, WriterOptions{})
	cb := fmt.Sprintf(chat, `,"seed":1`)
	pb := `{"prompt":"the officer","max_tokens":4,"seed":2}`
	post(t, r.srv.URL, "/v1/chat/completions", "c", cb)
	post(t, r.srv.URL, "/v1/completions", "p", pb)
	r.close()
	recs := byID(readLog(t, r.dir))
	ctx := context.Background()
	for id, b := range map[string]string{"c": cb, "p": pb} {
		rec := recs[id]
		if rec == nil || rec.Input.Digest != digest.FromBytes([]byte(b)) {
			t.Fatalf("%s: %+v", id, rec)
		}
		if _, err := r.st.ReadAll(ctx, rec.Input.Digest); err == nil {
			t.Errorf("%s: the request bytes were stored", id)
		}
		_, err := r.st.ReadAll(ctx, rec.Output.Digest)
		if (err == nil) != (id == "c") {
			t.Errorf("%s: response stored: %v", id, err == nil)
		}
	}
}

// TestPassThrough: other paths and methods, error statuses, malformed
// and oversized bodies pass through unchanged and are counted, not
// recorded.
func TestPassThrough(t *testing.T) {
	r := newRig(t, "", Config{MaxBody: 512}, WriterOptions{})
	resp, err := http.Get(r.srv.URL + "/v1/models")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/models: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, body := post(t, r.srv.URL, "/v1/chat/completions", "bad", `{"messages": [`)
	if resp.StatusCode != 400 || !strings.Contains(string(body), "invalid request") {
		t.Errorf("malformed: %d %s", resp.StatusCode, body)
	}
	big := fmt.Sprintf(chat, `,"seed":1,"pad":"`+strings.Repeat("x", 600)+`"`)
	resp, body = post(t, r.srv.URL, "/v1/chat/completions", "big", big)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "choices") {
		t.Errorf("oversized: %d %s", resp.StatusCode, body)
	}
	resp, _ = post(t, r.srv.URL, "/v1/nothing", "", `{}`)
	if resp.StatusCode != 404 {
		t.Errorf("unknown path: %d", resp.StatusCode)
	}
	resp, body = post(t, r.srv.URL, "/v1/chat/completions", "neg", fmt.Sprintf(chat, `,"logprobs":true,"top_logprobs":99`))
	if resp.StatusCode != 400 {
		t.Errorf("upstream 400: %d %s", resp.StatusCode, body)
	}
	r.close()
	if p, _ := Segments(r.dir); len(p) != 0 {
		t.Errorf("segments %v, want none", p)
	}
	m := r.p.Metrics()
	for reason, want := range map[string]int64{ReasonMalformed: 1, ReasonOversize: 1, ReasonStatus: 1} {
		if got := m.NotRecorded(reason); got != want {
			t.Errorf("not recorded %s: %d, want %d", reason, got, want)
		}
	}
	if m.PassThrough.Load() != 2 || m.Requests.Load() != 5 {
		t.Errorf("pass-through %d requests %d", m.PassThrough.Load(), m.Requests.Load())
	}
}

// TestUpstreamFailures: an upstream that hangs, resets, or is not there
// gets the client a 502 that says so; one that breaks off mid-answer cuts
// the client's answer too; the proxy stays up and counts each.
func TestUpstreamFailures(t *testing.T) {
	stop := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer hang.Close()
	defer close(stop)
	reset := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}))
	defer reset.Close()
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte(`{"choices":`))
		w.(http.Flusher).Flush()
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
	}))
	defer cut.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := "http://" + ln.Addr().String()
	ln.Close()
	for _, c := range []struct{ name, url, want string }{
		{"hang", hang.URL, "timeout awaiting response headers"},
		{"reset", reset.URL, "did not answer"},
		{"gone", gone, "connection refused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, c.url, Config{UpstreamTimeout: 200 * time.Millisecond}, WriterOptions{})
			resp, body := post(t, r.srv.URL, "/v1/chat/completions", "x", fmt.Sprintf(chat, ``))
			if resp.StatusCode != 502 || !strings.Contains(string(body), "reprise capture: upstream") || !strings.Contains(string(body), c.want) {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
			if r.p.Metrics().NotRecorded(ReasonUpstream) != 1 {
				t.Errorf("upstream errors %d", r.p.Metrics().NotRecorded(ReasonUpstream))
			}
			if resp, err := http.Get(r.srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
				t.Errorf("healthz after: %v %v", resp, err)
			}
		})
	}
	t.Run("cut", func(t *testing.T) {
		r := newRig(t, cut.URL, Config{}, WriterOptions{})
		req, _ := http.NewRequest("POST", r.srv.URL+"/v1/chat/completions", strings.NewReader(fmt.Sprintf(chat, ``)))
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if err == nil {
			t.Errorf("the client read a whole answer from an upstream that broke off")
		}
		if r.p.Metrics().NotRecorded(ReasonUpstream) != 1 {
			t.Errorf("upstream errors %d", r.p.Metrics().NotRecorded(ReasonUpstream))
		}
	})
}

// TestClientGoneMidStream: a client that goes away mid-stream is counted
// and not recorded; the proxy serves the next request.
func TestClientGoneMidStream(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	r := newRig(t, slow.URL, Config{}, WriterOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", r.srv.URL+"/v1/chat/completions", strings.NewReader(fmt.Sprintf(chat, `,"stream":true`)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "data: {\"ch" {
		t.Fatalf("first chunk %q %v", buf, err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for r.p.Metrics().NotRecorded(ReasonClientGone) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.p.Metrics().NotRecorded(ReasonClientGone); n != 1 {
		t.Errorf("client gone %d, want 1", n)
	}
	if resp, err := http.Get(r.srv.URL + "/healthz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz after: %v %v", resp, err)
	}
}

// TestMetrics: /metrics is the Prometheus text format with every counter.
func TestMetrics(t *testing.T) {
	r := newRig(t, "", Config{}, WriterOptions{})
	post(t, r.srv.URL, "/v1/chat/completions", "a", fmt.Sprintf(chat, `,"seed":1`))
	resp, err := http.Get(r.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, s := range []string{"reprise_capture_requests_total 1\n", "reprise_capture_dropped_total 0\n", "reprise_capture_queue_depth ",
		"# TYPE reprise_capture_added_latency_seconds histogram\n", `reprise_capture_added_latency_seconds_bucket{le="+Inf"} 1` + "\n",
		"reprise_capture_added_latency_seconds_count 1\n", `reprise_capture_not_recorded_total{reason="oversize"} 0`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("/metrics lacks %q:\n%s", s, b)
		}
	}
}

// TestSampling: the draw is a hash of the request id: the same ids give
// the same records; per-path rates override the default. 4000 fixed ids
// at rate 0.25: the share recorded is pinned (no chance involved), and
// lies in [0.2, 0.3].
func TestSampling(t *testing.T) {
	p := &Proxy{cfg: Config{SampleRate: 0.25, SampleRates: map[string]float64{"/v1/completions": 1, "tiny": -1}}}
	n := 0
	for i := range 4000 {
		id := fmt.Sprintf("req_%d", i)
		if p.sampled(route{path: "/v1/chat/completions"}, "", id) {
			n++
		}
		if !p.sampled(route{path: "/v1/completions"}, "", id) || p.sampled(route{path: "/v1/chat/completions"}, "tiny", id) {
			t.Fatal("per-key rates not applied")
		}
	}
	if share := float64(n) / 4000; share < 0.2 || share > 0.3 {
		t.Errorf("share %.3f at rate 0.25", share)
	}
	if def, per, err := ParseSampleRates([]string{"0.5", "/v1/completions=0", "tiny=1"}); err != nil || def != 0.5 || per["/v1/completions"] != 0 || per["tiny"] != 1 {
		t.Errorf("ParseSampleRates: %v %v %v", def, per, err)
	}
	for _, bad := range []string{"2", "x=-0.1", "abc"} {
		if _, _, err := ParseSampleRates([]string{bad}); err == nil {
			t.Errorf("ParseSampleRates(%q) accepted", bad)
		}
	}
	if _, _, err := ParseTiers([]string{"model=hash"}); err == nil {
		t.Error("ParseTiers accepted a key that is not a path")
	}
}

var _ = json.Marshal
