package httpsess_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/fixtures/textgen"
	"github.com/reprise-dev/reprise/fixtures/textserver/thirdparty"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/httpsess"
	"github.com/reprise-dev/reprise/runners/openai"
	"github.com/reprise-dev/reprise/system"
)

// clock is a test clock that the test moves on.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}
func textInput() json.RawMessage {
	return json.RawMessage(`{"messages":[{"role":"user","content":"the fox"}]}`)
}
func pinned(seed int64) runners.Request {
	return runners.Request{Input: textInput(), Params: system.Params{}.WithSeed(seed)}
}
func fixtureModel() *textgen.Model {
	return textgen.New("story", []byte("the fox runs . the dog sleeps . a fox jumps over the dog ."))
}
func ollamaLike(o thirdparty.Options) thirdparty.Options {
	o.Fingerprint, o.Tag = "fp_ollama", "latest"
	return o
}

// thirdPartySession starts the fixture text server behind the switches of
// o (its clock c) and a session of it, started at the real time.
func thirdPartySession(t *testing.T, o thirdparty.Options, c *clock, cfg runners.HTTPConfig, start time.Duration) (*httpsess.Session, string) {
	t.Helper()
	h := thirdparty.Wrap(textgen.Handler(fixtureModel(), textgen.NoSwitches), "story", o, c.now)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	codec, err := openai.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	spec := runners.Spec{StartTimeout: start, RunTimeout: 5 * time.Second}
	s := httpsess.New(codec, srv.URL, nil, runners.NewBudget(spec, start, 5*time.Second, time.Minute, time.Now()), spec, runners.Info{Runner: "test"})
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, srv.URL
}

// TestReadyWaitsForTheServedModel: a server that answers GET /v1/models
// 200 with no model (Ollama before its entrypoint registered the model) is
// not ready; once it lists the model (":latest" tag and all) it is. Past
// the start timeout, the error names --start-timeout and what the server
// last said.
func TestReadyWaitsForTheServedModel(t *testing.T) {
	for _, cfg := range []runners.HTTPConfig{{}, {ModelName: "story"}} {
		c := newClock()
		h := thirdparty.Wrap(textgen.Handler(fixtureModel(), textgen.NoSwitches), "story", ollamaLike(thirdparty.Options{RegisterAfter: time.Hour}), c.now)
		srv := httptest.NewServer(h)
		codec, _ := openai.New(cfg)
		err := httpsess.WaitReady(context.Background(), httpsess.NewClient(), srv.URL, codec, 200*time.Millisecond, nil, nil)
		want := "answered 200 with no model"
		if cfg.ModelName != "" {
			want = `does not list the record's model "story" (runtime.http.model_name); it lists []`
		}
		if !errors.Is(err, runners.ErrTimeout) || !strings.Contains(err.Error(), "--start-timeout") || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: unregistered model: %v, want a timeout naming --start-timeout and %q", cfg, err, want)
		}
		c.add(time.Hour)
		if err := httpsess.WaitReady(context.Background(), httpsess.NewClient(), srv.URL, codec, 5*time.Second, nil, nil); err != nil {
			t.Errorf("%+v: registered model (listed as story:latest): %v", cfg, err)
		}
		srv.Close()
	}
}

// TestRun0LazyModel: a server that lists its model before it can answer
// and answers run 0 with 404 "model … not found" (a lazily loaded model)
// gets run 0 again within the start timeout; once it answered, a 404 is a
// run error at once; a model that never loads ends run 0 with an error
// naming --start-timeout and quoting the server's last answer.
func TestRun0LazyModel(t *testing.T) {
	c := newClock()
	s, _ := thirdPartySession(t, ollamaLike(thirdparty.Options{RegisterAfter: time.Hour, ListEarly: true}), c, runners.HTTPConfig{ModelName: "story"}, 30*time.Second)
	time.AfterFunc(300*time.Millisecond, func() { c.add(time.Hour) })
	resp, err := s.Run(context.Background(), pinned(7))
	if err != nil {
		t.Fatalf("run 0 of a lazily loaded model: %v", err)
	}
	if resp.Output.Text == nil || *resp.Output.Text == "" || resp.Fingerprint != "fp_ollama" || resp.Model != "story" {
		t.Errorf("run 0: %+v", resp)
	}
	if st := s.Info().Startup; st < 250*time.Millisecond {
		t.Errorf("startup %s does not count the wait for the model", st)
	}

	never, _ := thirdPartySession(t, ollamaLike(thirdparty.Options{RegisterAfter: time.Hour, ListEarly: true}), newClock(), runners.HTTPConfig{ModelName: "story"}, 400*time.Millisecond)
	_, err = never.Run(context.Background(), pinned(7))
	want := `run 0: timed out: POST /v1/chat/completions still answered 404 Not Found (not ready) when the start timeout 400ms passed (raise it with --start-timeout): "{\"error\":{\"message\":\"model \\\"story\\\" not found, try pulling it first\"`
	if !errors.Is(err, runners.ErrTimeout) || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("never loaded: %v\nwant %s", err, want)
	}
}

// TestServedModelDigest: after run 0 the session asks for the served
// model's digest (Ollama: GET /api/tags) and keeps it, with the served
// model's name and the constant fingerprint, in Info.
func TestServedModelDigest(t *testing.T) {
	o := ollamaLike(thirdparty.Options{Digest: "0123abcd" + strings.Repeat("e", 56)})
	s, _ := thirdPartySession(t, o, newClock(), runners.HTTPConfig{ModelName: "story"}, 5*time.Second)
	for i := range 3 {
		if _, err := s.Run(context.Background(), pinned(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	in := s.Info()
	if in.ModelDigest != o.Digest || in.ModelDigestFrom != "GET /api/tags" || len(in.ServedModels) != 1 || in.ServedModels[0] != "story" ||
		len(in.Fingerprints) != 1 || in.Fingerprints[0] != "fp_ollama" {
		t.Errorf("info: %+v", in)
	}
	// A server without a digest: none, and no error.
	s, _ = thirdPartySession(t, thirdparty.Options{}, newClock(), runners.HTTPConfig{}, 5*time.Second)
	if _, err := s.Run(context.Background(), pinned(1)); err != nil {
		t.Fatal(err)
	}
	if in := s.Info(); in.ModelDigest != "" || in.ModelDigestFrom != "" {
		t.Errorf("digest of a server without one: %+v", in)
	}
}
