package endpoint

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/openai"
)

// loading is an OpenAI-compatible server that lists its model at once but
// loads it until loaded is set: /health (when it has one) and inference
// answer 503 until then, as vLLM, TGI and llama.cpp server do.
type loading struct {
	health  bool        // serves GET /health
	listed  atomic.Bool // /v1/models lists the model ("m1"); else another one
	loaded  atomic.Bool
	served  atomic.Int64 // inference answers 503
	chatted atomic.Int64 // inference answers 200
}

func (l *loading) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/health" && l.health:
		if !l.loaded.Load() {
			http.Error(w, `{"error":{"code":503,"message":"Loading model"}}`, http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	case r.URL.Path == "/v1/models":
		id := "other"
		if l.listed.Load() {
			id = "m1"
		}
		w.Write([]byte(`{"object":"list","data":[{"id":"` + id + `"}]}`))
	case r.URL.Path == "/v1/chat/completions":
		if !l.loaded.Load() {
			l.served.Add(1)
			http.Error(w, `{"error":{"code":503,"message":"Loading model"}}`, http.StatusServiceUnavailable)
			return
		}
		l.chatted.Add(1)
		w.Write([]byte(`{"choices":[{"index":0,"message":{"content":"ok"},"finish_reason":"stop"}]}`))
	default:
		http.NotFound(w, r)
	}
}

func start(t *testing.T, h http.Handler, cfg runners.HTTPConfig, startTimeout time.Duration) (runners.Session, error) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	codec, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return (&Runner{URL: srv.URL}).Start(context.Background(), runners.Spec{Codec: codec, StartTimeout: startTimeout, RunTimeout: 5 * time.Second})
}

// TestReadyHealth: a server that lists its model while /health answers 503
// is not ready: Start waits for /health, and run 0 is answered (issue 19,
// item 5).
func TestReadyHealth(t *testing.T) {
	l := &loading{health: true}
	l.listed.Store(true)
	time.AfterFunc(300*time.Millisecond, func() { l.loaded.Store(true) })
	s, err := start(t, l, runners.HTTPConfig{}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if !l.loaded.Load() {
		t.Error("Start returned while /health answered 503")
	}
	if _, err := s.Run(context.Background(), request(1)); err != nil {
		t.Fatalf("run 0: %v", err)
	}
}

// TestReadyModelListed: with no /health (404), readiness is the record's
// model listed on /v1/models.
func TestReadyModelListed(t *testing.T) {
	l := &loading{}
	l.loaded.Store(true)
	time.AfterFunc(300*time.Millisecond, func() { l.listed.Store(true) })
	s, err := start(t, l, runners.HTTPConfig{ModelName: "m1"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	if !l.listed.Load() {
		t.Error("Start returned before /v1/models listed the record's model")
	}
	// Never listed: the start timeout's error says what the server lists.
	_, err = start(t, &loading{}, runners.HTTPConfig{ModelName: "m1"}, 300*time.Millisecond)
	if !errors.Is(err, runners.ErrTimeout) || !strings.Contains(err.Error(), `does not list the record's model "m1" (runtime.http.model_name); it lists ["other"]`) ||
		!strings.Contains(err.Error(), "--start-timeout") {
		t.Errorf("never listed: %v", err)
	}
}

// TestRun0NotReady: a server without /health that lists its model and
// answers 503 to inference while loading: run 0 is retried within the
// start timeout and answered; past it, the error names --start-timeout.
func TestRun0NotReady(t *testing.T) {
	l := &loading{}
	l.listed.Store(true)
	time.AfterFunc(400*time.Millisecond, func() { l.loaded.Store(true) })
	s, err := start(t, l, runners.HTTPConfig{}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	resp, err := s.Run(context.Background(), request(1))
	if err != nil {
		t.Fatalf("run 0 while loading: %v", err)
	}
	if *resp.Output.Text != "ok" || l.served.Load() == 0 || l.chatted.Load() != 1 {
		t.Errorf("run 0: %q, 503 answers %d, 200 answers %d", *resp.Output.Text, l.served.Load(), l.chatted.Load())
	}
	if st := s.Info().Startup; st < 300*time.Millisecond {
		t.Errorf("startup %s does not count the wait for the model load", st)
	}
	// Once the server answered, a 503 is a run error at once.
	l.loaded.Store(false)
	t0 := time.Now()
	_, err = s.Run(context.Background(), request(2))
	if !errors.Is(err, runners.ErrProtocol) || !strings.Contains(err.Error(), "run 1: ") || !strings.Contains(err.Error(), "answered 503") || time.Since(t0) > time.Second {
		t.Errorf("503 after the first answer: %v (after %s)", err, time.Since(t0))
	}

	never := &loading{}
	never.listed.Store(true)
	s, err = start(t, never, runners.HTTPConfig{}, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	t0 = time.Now()
	_, err = s.Run(context.Background(), request(1))
	want := "run 0: timed out: POST /v1/chat/completions still answered 503 Service Unavailable (not ready) when the start timeout 500ms passed (raise it with --start-timeout)"
	if !errors.Is(err, runners.ErrTimeout) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("never loaded: %v\nwant %s", err, want)
	}
	if d := time.Since(t0); d > 2*time.Second || never.served.Load() < 2 {
		t.Errorf("never loaded: gave up after %s and %d tries", d, never.served.Load())
	}
}
