package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/fixtures/loan"
	"github.com/reprise-dev/reprise/fixtures/textgen"
	"github.com/reprise-dev/reprise/fixtures/textgen/textgentest"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/httpsess"
	"github.com/reprise-dev/reprise/runners/jsonl"
	"github.com/reprise-dev/reprise/runners/kserve"
	"github.com/reprise-dev/reprise/runners/openai"
	"github.com/reprise-dev/reprise/runners/runnertest"
	"github.com/reprise-dev/reprise/system"
)

func server(t testing.TB) *httptest.Server { return textgentest.Server(t, "1.0") }

var input = json.RawMessage(`{"model":"text-story-1.0","messages":[{"role":"user","content":"what did the officer"}]}`)

func request(seed int64) runners.Request {
	temp, topP, maxTok := 0.9, 0.95, 24
	return runners.Request{Input: input, Params: system.Params{Temperature: &temp, TopP: &topP, MaxTokens: &maxTok}.WithSeed(seed)}
}

func TestEndpoint(t *testing.T) {
	srv := server(t)
	codec, _ := openai.New(runners.HTTPConfig{})
	s, err := (&Runner{URL: srv.URL + "/"}).Start(context.Background(), runners.Spec{Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	a, err := s.Run(context.Background(), request(42))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := s.Run(context.Background(), request(42))
	if !bytes.Equal(codec.Canonical(a.Raw), codec.Canonical(b.Raw)) || bytes.Equal(a.Raw, b.Raw) {
		t.Errorf("canonical bytes should match and raw bytes differ (id, created):\n%s\n%s", a.Raw, b.Raw)
	}
	info := s.Info()
	if info.Pinned || info.Runner != "endpoint" || !strings.Contains(info.Server, "text-story-1.0") || len(info.Fingerprints) != 1 {
		t.Errorf("info %+v", info)
	}
	if _, err := (&Runner{URL: srv.URL}).Start(context.Background(), runners.Spec{Codec: jsonl.Codec{}}); !errors.Is(err, runners.ErrUnsupported) {
		t.Errorf("stdio codec: %v", err)
	}
	for _, bad := range []string{"ftp://x", "http://", "http://x/?q=1", "x"} {
		if _, err := ParseURL(bad); err == nil {
			t.Errorf("ParseURL(%q) accepted", bad)
		}
	}
}

// TestEndpointNotesComponents: a running server is given no components,
// and the session's notes say which it was not given.
func TestEndpointNotesComponents(t *testing.T) {
	srv := server(t)
	codec, _ := openai.New(runners.HTTPConfig{})
	for _, c := range []struct {
		comps map[string]string
		want  string
	}{
		{nil, ""},
		{map[string]string{"prompt": "/w/components/prompt", "index": "/w/components/index"}, "none of the record's 2 pinned components (index, prompt)"},
	} {
		s, err := (&Runner{URL: srv.URL}).Start(context.Background(), runners.Spec{Codec: codec, Components: c.comps})
		if err != nil {
			t.Fatal(err)
		}
		notes := s.Info().Notes
		s.Close(context.Background())
		if c.want == "" && len(notes) != 0 || c.want != "" && (len(notes) != 1 || !strings.Contains(notes[0], c.want)) {
			t.Errorf("components %v: notes %q, want %q", c.comps, notes, c.want)
		}
	}
}

// BenchmarkRun compares one run through the HTTP session (encode, POST,
// decode) with a bare keep-alive client loop posting the same encoded body
// and reading the answer, against the same in-process server
// (runnertest.Paired; the CPU figures include the server's).
func BenchmarkRun(b *testing.B) {
	srv := server(b)
	codec, _ := openai.New(runners.HTTPConfig{})
	c := httpsess.NewClient()
	body, _ := codec.Encode(request(42))
	s, err := (&Runner{URL: srv.URL}).Start(context.Background(), runners.Spec{Codec: codec})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	req := request(42)
	runnertest.Paired(b, runnertest.BarePost(b, c, srv.URL+openai.ChatPath, body), func() {
		if _, err := s.Run(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	})
}

// BenchmarkCodecOverhead is the CPU a session adds to a bare loop per run:
// merging the parameters into the body and decoding the answer (the
// canonical bytes are cut for the pinned run only).
func BenchmarkCodecOverhead(b *testing.B) {
	codec, _ := openai.New(runners.HTTPConfig{})
	raw := []byte(`{"id":"cmpl-1","object":"chat.completion","created":1,"model":"text-story-1.0","system_fingerprint":"fp_547d0d1e50bc","choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"closed the file and wrote approved on the first page .","role":"assistant"}}],"usage":{"completion_tokens":11,"prompt_tokens":4}}`)
	req := request(42)
	for b.Loop() {
		if _, err := codec.Encode(req); err != nil {
			b.Fatal(err)
		}
		if _, err := codec.Decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConformanceHTTP runs the HTTP conformance suite against the loan
// approver's kserve-v2 handler, already running.
func TestConformanceHTTP(t *testing.T) {
	env := map[string]string{
		"REPRISE_MODEL":  "../../fixtures/models/loan-approver-2.4.1.safetensors",
		"REPRISE_CONFIG": "../../fixtures/configs/loan-params-3.json",
	}
	h, err := loan.KServeHandler(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	kin, err := os.ReadFile("../../fixtures/inputs/application-demo-kserve.json")
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := kserve.New(runners.HTTPConfig{ModelName: loan.KServeModelName})
	runnertest.RunHTTP(t, &Runner{URL: srv.URL}, runnertest.HTTPFixture{
		Codec: codec, Input: kin, BadInput: json.RawMessage(`{"inputs":[{"name":"income","data":[1,2]}]}`),
		WithSwitches: func(t *testing.T, sw map[string]string) runnertest.Starter {
			all := maps.Clone(env)
			maps.Copy(all, sw)
			h, err := loan.KServeHandler(func(k string) string { return all[k] })
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			return &Runner{URL: srv.URL}
		},
	})
}

// TestConformanceOpenAI runs the HTTP conformance suite against the text
// server over openai, already running.
func TestConformanceOpenAI(t *testing.T) {
	codec, _ := openai.New(runners.HTTPConfig{})
	runnertest.RunHTTP(t, &Runner{URL: server(t).URL}, runnertest.HTTPFixture{
		Codec: codec, Input: input, BadInput: json.RawMessage(`{"messages":"not a list"}`),
		WithSwitches: func(t *testing.T, sw map[string]string) runnertest.Starter {
			o, err := textgen.OptionsFromEnv(func(k string) string { return sw[k] }, false)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(textgen.Handler(textgentest.Model(t, "text-story-1.0", "text-story-1.0"), o))
			t.Cleanup(srv.Close)
			return &Runner{URL: srv.URL}
		},
	})
}
