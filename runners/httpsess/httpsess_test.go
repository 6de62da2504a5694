package httpsess_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/httpsess"
	"github.com/reprise-dev/reprise/runners/openai"
	"github.com/reprise-dev/reprise/system"
)

func chat(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seed int64 `json:"seed"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	fmt.Fprintf(w, `{"id":"x","choices":[{"index":0,"message":{"content":"seed %d"},"finish_reason":"stop"}]}`, req.Seed)
}

func session(t *testing.T, h http.Handler, run time.Duration) *httpsess.Session {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	codec, _ := openai.New(runners.HTTPConfig{})
	spec := runners.Spec{RunTimeout: run, MaxResponseBytes: 1 << 10}
	s := httpsess.New(codec, srv.URL, nil, runners.NewBudget(spec, time.Minute, run, time.Minute, time.Now()), spec, runners.Info{Runner: "test"})
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func req(seed int64) runners.Request {
	return runners.Request{Input: json.RawMessage(`{"messages":[{"role":"user","content":"hi"}]}`), Params: system.Params{}.WithSeed(seed)}
}

func TestRun(t *testing.T) {
	s := session(t, http.HandlerFunc(chat), 5*time.Second)
	for i := range 3 {
		resp, err := s.Run(context.Background(), req(int64(i)))
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("seed %d", i); *resp.Output.Text != want {
			t.Errorf("text %q, want %q", *resp.Output.Text, want)
		}
	}
}

// TestRunErrors: an HTTP error, garbage, an oversized body, a slow answer
// and a redirect (never followed) are run errors naming the status or first bytes, never outputs;
// the session goes on after each.
func TestRunErrors(t *testing.T) {
	var n atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) {
		case 1:
			http.Error(w, "model exploded", 500)
		case 2:
			fmt.Fprint(w, "<html>garbage")
		case 3:
			fmt.Fprint(w, strings.Repeat("x", 2<<10))
		case 4:
			time.Sleep(500 * time.Millisecond)
			chat(w, r)
		case 5:
			http.Redirect(w, r, "http://192.0.2.1/elsewhere", http.StatusTemporaryRedirect)
		default:
			chat(w, r)
		}
	})
	s := session(t, h, 200*time.Millisecond)
	for i, tc := range []struct {
		is   error
		text string
	}{
		{runners.ErrProtocol, "500 Internal Server Error: \"model exploded\\n\""},
		{runners.ErrProtocol, "<html>garbage"},
		{runners.ErrProtocol, "longer than the limit"},
		{runners.ErrTimeout, "no response within 200ms"},
		{runners.ErrProtocol, "answered 307 Temporary Redirect"},
	} {
		resp, err := s.Run(context.Background(), req(1))
		var re *runners.RunError
		if !errors.As(err, &re) || re.Run != i || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("run %d: err = %v, want %v with %q", i, err, tc.is, tc.text)
		}
		if !resp.Output.IsZero() {
			t.Errorf("run %d: an error gave an output", i)
		}
	}
	if _, err := s.Run(context.Background(), req(1)); err != nil {
		t.Errorf("the session did not go on: %v", err)
	}
}

func TestWaitReady(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "loading", 503)
			return
		}
		fmt.Fprint(w, `{"data":[{"id":"m"}]}`)
	}))
	defer srv.Close()
	codec, _ := openai.New(runners.HTTPConfig{})
	c := httpsess.NewClient()
	err := httpsess.WaitReady(context.Background(), c, srv.URL, codec, 300*time.Millisecond, nil, func() string { return "stderr: loading weights" })
	if !errors.Is(err, runners.ErrTimeout) || !strings.Contains(err.Error(), "loading weights") || !strings.Contains(err.Error(), "503") {
		t.Errorf("never ready: err = %v", err)
	}
	time.AfterFunc(100*time.Millisecond, func() { ready.Store(true) })
	if err := httpsess.WaitReady(context.Background(), c, srv.URL, codec, 5*time.Second, nil, nil); err != nil {
		t.Errorf("ready: %v", err)
	}
	dead := errors.New("exited with status 2")
	ready.Store(false)
	err = httpsess.WaitReady(context.Background(), c, srv.URL, codec, 5*time.Second, func() error { return dead }, nil)
	if !errors.Is(err, runners.ErrCrashed) || !strings.Contains(err.Error(), "status 2") {
		t.Errorf("crashed: err = %v", err)
	}
}

// batching answers a request only once `size` requests are in the server
// at once (a server-side batch), or after wait; it records the most seen.
type batching struct {
	size    int
	wait    time.Duration
	once    sync.Once
	in      atomic.Int32
	maxSeen atomic.Int32
	full    chan struct{}
}

func newBatching(size int, wait time.Duration) *batching {
	return &batching{size: size, wait: wait, full: make(chan struct{})}
}

func (b *batching) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := b.in.Add(1)
	defer b.in.Add(-1)
	for {
		m := b.maxSeen.Load()
		if n <= m || b.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	if int(n) == b.size {
		b.once.Do(func() { close(b.full) })
	}
	select {
	case <-b.full:
	case <-time.After(b.wait):
	}
	// Answers come back out of order: the later seeds sooner.
	var req struct {
		Seed int64 `json:"seed"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	time.Sleep(time.Duration(10-req.Seed%10) * time.Millisecond)
	fmt.Fprintf(w, `{"id":"x","choices":[{"index":0,"message":{"content":"seed %d"},"finish_reason":"stop"}]}`, req.Seed)
}

func concurrentSession(t *testing.T, h http.Handler, c int, run time.Duration) *httpsess.Session {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	codec, _ := openai.New(runners.HTTPConfig{})
	spec := runners.Spec{RunTimeout: run, Concurrency: c}
	s := httpsess.New(codec, srv.URL, nil, runners.NewBudget(spec, time.Minute, run, time.Minute, time.Now()), spec, runners.Info{Runner: "test"})
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// TestRunBatchConcurrency: with concurrency 4 the server holds 4 requests at
// once (it holds its first requests until 4 are in, so a client sending
// fewer would wait the 10 s fallback, past the 5 s run timeout); answers that come
// back out of order are yielded in request order, each the answer of its
// own seed; at most 4 are in the server at once.
func TestRunBatchConcurrency(t *testing.T) {
	b := newBatching(4, 10*time.Second)
	s := concurrentSession(t, b, 4, 5*time.Second)
	if s.Info().Concurrency != 4 {
		t.Fatalf("info concurrency %d", s.Info().Concurrency)
	}
	var reqs []runners.Request
	for i := range 40 {
		reqs = append(reqs, req(int64(i)))
	}
	got := 0
	s.RunBatch(context.Background(), reqs, func(i int, resp runners.Response, err error) bool {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if want := fmt.Sprintf("seed %d", i); i != got || *resp.Output.Text != want {
			t.Fatalf("yield %d (after %d) carries %q, want %q", i, got, *resp.Output.Text, want)
		}
		got++
		return true
	})
	if got != 40 || b.maxSeen.Load() != 4 || s.Runs() != 40 {
		t.Fatalf("%d answers, most in the server at once %d (want 4), runs %d", got, b.maxSeen.Load(), s.Runs())
	}
}

// TestRunBatchOneAtATime: concurrency 1 (the default) never has two
// requests in the server.
func TestRunBatchOneAtATime(t *testing.T) {
	b := newBatching(2, 0)
	s := concurrentSession(t, b, 0, 5*time.Second)
	got := 0
	s.RunBatch(context.Background(), []runners.Request{req(1), req(2), req(3), req(4), req(5)}, func(i int, resp runners.Response, err error) bool {
		if err != nil {
			t.Fatal(err)
		}
		got++
		return true
	})
	if got != 5 || b.maxSeen.Load() != 1 {
		t.Fatalf("%d answers, most at once %d", got, b.maxSeen.Load())
	}
}

// TestRunBatchStopsAtError: the first failed run is yielded with its run
// index and ends the batch; the runs before it keep their answers.
func TestRunBatchStopsAtError(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Seed int64 `json:"seed"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.Seed == 6 {
			http.Error(w, "model exploded", 500)
			return
		}
		fmt.Fprintf(w, `{"id":"x","choices":[{"index":0,"message":{"content":"seed %d"},"finish_reason":"stop"}]}`, req.Seed)
	})
	s := concurrentSession(t, h, 3, 5*time.Second)
	var reqs []runners.Request
	for i := range 20 {
		reqs = append(reqs, req(int64(i)))
	}
	ok := 0
	var last error
	s.RunBatch(context.Background(), reqs, func(i int, resp runners.Response, err error) bool {
		if err != nil {
			last = err
			return true // the batch ends anyway
		}
		ok++
		return true
	})
	var re *runners.RunError
	if ok != 6 || !errors.As(last, &re) || re.Run != 6 || !errors.Is(last, runners.ErrProtocol) || !strings.Contains(last.Error(), "model exploded") {
		t.Fatalf("%d answers, err %v", ok, last)
	}
}

// TestRunBatchCancelled: a context cancelled before or during a batch ends
// it with the context's error instead of waiting for requests the sender
// never sent (a Ctrl-C between looks hung the replay).
func TestRunBatchCancelled(t *testing.T) {
	b := newBatching(4, 10*time.Second)
	s := concurrentSession(t, b, 4, 5*time.Second)
	var reqs []runners.Request
	for i := range 40 {
		reqs = append(reqs, req(int64(i)))
	}
	for _, when := range []string{"before", "during"} {
		ctx, cancel := context.WithCancel(context.Background())
		if when == "before" {
			cancel()
		}
		done := make(chan error, 1)
		go func() {
			var last error
			n := 0
			s.RunBatch(ctx, reqs, func(i int, resp runners.Response, err error) bool {
				n++
				if n == 3 {
					cancel()
				}
				last = err
				return true
			})
			done <- last
		}()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: the batch ended with %v, want context.Canceled", when, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: RunBatch still waiting 10 s after its context was cancelled", when)
		}
		cancel()
	}
}

// TestRunTimeoutReused: Run reuses one timer from run to run; each run
// still gets the whole timeout, a run past it is cut at it and the next
// run goes on, and a cancelled caller's context ends that caller's run
// only.
func TestRunTimeoutReused(t *testing.T) {
	sleeps := make(chan time.Duration, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(<-sleeps)
		chat(w, r)
	})
	s := session(t, h, 300*time.Millisecond)
	run := func(ctx context.Context, sleep time.Duration) error {
		sleeps <- sleep
		_, err := s.Run(ctx, req(1))
		return err
	}
	ctx := context.Background()
	for i := range 50 {
		if err := run(ctx, 0); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	for _, d := range []time.Duration{200 * time.Millisecond, 0, 200 * time.Millisecond} {
		if err := run(ctx, d); err != nil {
			t.Fatalf("a run of %s under a timeout of 300ms: %v", d, err)
		}
	}
	start := time.Now()
	if err := run(ctx, 600*time.Millisecond); !errors.Is(err, runners.ErrTimeout) {
		t.Fatalf("a run of 600ms: %v, want ErrTimeout", err)
	}
	if el := time.Since(start); el < 290*time.Millisecond {
		t.Errorf("the timeout cut the run after %s, before its 300ms", el)
	}
	if err := run(ctx, 0); err != nil {
		t.Fatalf("after a timeout: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	if err := run(cctx, 200*time.Millisecond); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v, want context.Canceled", err)
	}
	time.Sleep(200 * time.Millisecond) // the server finishes the cancelled run
	if err := run(ctx, 200*time.Millisecond); err != nil {
		t.Fatalf("after a cancelled caller: %v", err)
	}
}

// TestBasicAuthAndRedirects: user info in the server's URL becomes basic
// auth on every run (as http.Client does), and readiness, like runs, never
// follows a redirect.
func TestBasicAuthAndRedirects(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "reprise" || p != "s3cret" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		chat(w, r)
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	codec, _ := openai.New(runners.HTTPConfig{})
	spec := runners.Spec{RunTimeout: time.Second}
	base := strings.Replace(srv.URL, "http://", "http://reprise:s3cret@", 1)
	s := httpsess.New(codec, base, nil, runners.NewBudget(spec, time.Minute, time.Second, time.Minute, time.Now()), spec, runners.Info{Runner: "test"})
	defer s.Close(context.Background())
	if resp, err := s.Run(context.Background(), req(7)); err != nil || *resp.Output.Text != "seed 7" {
		t.Fatalf("run with basic auth: %+v %v", resp, err)
	}

	moved := httptest.NewServer(http.RedirectHandler(srv.URL+"/v1/models", http.StatusPermanentRedirect))
	defer moved.Close()
	err := httpsess.WaitReady(context.Background(), httpsess.NewClient(), moved.URL, codec, 300*time.Millisecond, nil, nil)
	if !errors.Is(err, runners.ErrTimeout) || !strings.Contains(err.Error(), "308") {
		t.Fatalf("readiness behind a redirect: %v, want a timeout naming 308", err)
	}
}
