package openai

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

func TestEncodeMergesParams(t *testing.T) {
	c, err := New(runners.HTTPConfig{ModelName: "m1"})
	if err != nil {
		t.Fatal(err)
	}
	temp, topP, maxTok := 0.7, 0.9, 32
	p := system.Params{Temperature: &temp, TopP: &topP, MaxTokens: &maxTok}.WithSeed(42)
	in := `{"messages":[{"role":"user","content":"hi"}],"temperature":0.1,"n":3,"stream":true}`
	b, err := c.Encode(runners.Request{Input: json.RawMessage(in), Params: p})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(b, &got)
	want := map[string]any{"seed": 42.0, "temperature": 0.7, "top_p": 0.9, "max_tokens": 32.0, "n": 1.0, "stream": false, "model": "m1"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if _, err := c.Encode(runners.Request{Input: json.RawMessage(`[1]`)}); err == nil {
		t.Error("a non-object input encoded")
	}
}

func TestPath(t *testing.T) {
	c, _ := New(runners.HTTPConfig{})
	for _, tc := range []struct{ in, want string }{
		{`{"messages":[]}`, ChatPath},
		{`{"prompt":"x"}`, CompletionPath},
	} {
		if got := c.Path(runners.Request{Input: json.RawMessage(tc.in)}); got != tc.want {
			t.Errorf("Path(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	c, _ = New(runners.HTTPConfig{Path: "/x"})
	if got := c.Path(runners.Request{Input: json.RawMessage(`{"prompt":"x"}`)}); got != "/x" {
		t.Errorf("override: %s", got)
	}
}

func TestDecodeAndCanonical(t *testing.T) {
	c, _ := New(runners.HTTPConfig{LabelJSONPointer: "/decision"})
	a := `{"id":"chatcmpl-1","created":1,"model":"m","system_fingerprint":"fp1","usage":{"total_tokens":9},
	  "choices":[{"index":0,"message":{"role":"assistant","content":"{\"decision\":\"approved\"}"},"finish_reason":"stop"}]}`
	b := `{"id":"chatcmpl-2","created":2,"model":"m","system_fingerprint":"fp2","usage":{"total_tokens":7},
	  "choices":[{"index":0,"message":{"role":"assistant","content":"{\"decision\":\"approved\"}"},"finish_reason":"stop"}]}`
	ra, err := c.Decode([]byte(a))
	if err != nil {
		t.Fatal(err)
	}
	if *ra.Output.Text != `{"decision":"approved"}` || ra.Output.Label == nil || *ra.Output.Label != "approved" {
		t.Errorf("output = %+v", ra.Output)
	}
	if string(c.Canonical([]byte(a))) != string(c.Canonical([]byte(b))) {
		t.Errorf("canonical bytes differ by id/created/usage:\n%s\n%s", c.Canonical([]byte(a)), c.Canonical([]byte(b)))
	}
	if Fingerprint([]byte(a)) != "fp1" {
		t.Error("fingerprint")
	}
	tool := `{"choices":[{"index":0,"message":{"content":null,"tool_calls":[{"id":"call_x","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"finish_reason":"tool_calls"}]}`
	rt, err := c.Decode([]byte(tool))
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"name":"f","arguments":"{\"a\":1}"}]`; *rt.Output.Text != want {
		t.Errorf("tool text = %s, want %s", *rt.Output.Text, want)
	}
	if strings.Contains(string(c.Canonical([]byte(tool))), "call_x") {
		t.Error("canonical keeps the tool call id")
	}
	comp := `{"choices":[{"index":0,"text":"hello","finish_reason":"length"}]}`
	rc, err := c.Decode([]byte(comp))
	if err != nil || *rc.Output.Text != "hello" {
		t.Errorf("completion: %v %v", rc.Output, err)
	}
	for _, bad := range []string{"", "garbage", `{"choices":[]}`, `{"choices":"x"}`} {
		if _, err := c.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
	re, err := c.Decode([]byte(`{"error":{"message":"overloaded"}}`))
	if err != nil || re.Error != "overloaded" {
		t.Errorf("error answer: %+v %v", re, err)
	}
}

// TestLogprobs: a record that asks for logprobs sends them in the shape of
// each endpoint; the first choice's logprobs come back compacted, never in
// the canonical bytes; none asked, none sent.
func TestLogprobs(t *testing.T) {
	sent := func(cfg runners.HTTPConfig, in string) map[string]any {
		c, _ := New(cfg)
		b, err := c.Encode(runners.Request{Input: json.RawMessage(in), Params: system.Params{}.WithSeed(1)})
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		json.Unmarshal(b, &got)
		return got
	}
	chat, prompt := `{"messages":[{"role":"user","content":"hi"}]}`, `{"prompt":"hi"}`
	if got := sent(runners.HTTPConfig{Logprobs: true, TopLogprobs: 3}, chat); got["logprobs"] != true || got["top_logprobs"] != 3.0 {
		t.Errorf("chat: %v", got)
	}
	if got := sent(runners.HTTPConfig{Logprobs: true}, chat); got["logprobs"] != true || got["top_logprobs"] != nil {
		t.Errorf("chat without alternatives: %v", got)
	}
	if got := sent(runners.HTTPConfig{Logprobs: true, TopLogprobs: 2}, prompt); got["logprobs"] != 2.0 || got["top_logprobs"] != nil {
		t.Errorf("completions: %v", got)
	}
	if got := sent(runners.HTTPConfig{}, chat); got["logprobs"] != nil || got["top_logprobs"] != nil {
		t.Errorf("not asked: %v", got)
	}
	c, _ := New(runners.HTTPConfig{Logprobs: true})
	raw := `{"choices":[{"index":0,"message":{"content":"a b"},"finish_reason":"stop",
	  "logprobs": {"content": [{"token": "a", "logprob": -0.5}, {"token": " b", "logprob": -1.25}]}}]}`
	resp, err := c.Decode([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Logprobs) != `{"content":[{"token":"a","logprob":-0.5},{"token":" b","logprob":-1.25}]}` {
		t.Errorf("logprobs %s", resp.Logprobs)
	}
	if strings.Contains(string(c.Canonical([]byte(raw))), "logprob") {
		t.Errorf("canonical bytes hold the logprobs: %s", c.Canonical([]byte(raw)))
	}
	resp, _ = c.Decode([]byte(`{"choices":[{"index":0,"message":{"content":"a"},"finish_reason":"stop","logprobs":null}]}`))
	if resp.Logprobs != nil {
		t.Errorf("null logprobs kept: %s", resp.Logprobs)
	}
}

// TestEncodeCache: the body is prepared once per input and parameters; every
// run still gets its own seed, and another input or other parameters are
// never served from the cache.
func TestEncodeCache(t *testing.T) {
	c, err := New(runners.HTTPConfig{ModelName: "m"})
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	decode := func(in string, p system.Params) map[string]any {
		t.Helper()
		b, err := c.Encode(runners.Request{Input: json.RawMessage(in), Params: p})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return m
	}
	chat := `{"messages":[{"role":"user","content":"hi"}],"seed":99}`
	p := system.Params{Temperature: f(0.7)}
	for _, seed := range []int64{1, 2, -3} {
		m := decode(chat, p.WithSeed(seed))
		if m["seed"] != float64(seed) || m["temperature"] != 0.7 || m["n"] != float64(1) || m["stream"] != false || m["model"] != "m" || m["messages"] == nil {
			t.Fatalf("seed %d: %v", seed, m)
		}
	}
	// Without a run seed the stored one stays.
	if m := decode(chat, p); m["seed"] != float64(99) {
		t.Fatalf("stored seed: %v", m)
	}
	// Other parameters, then another input: nothing from the cache.
	if m := decode(chat, system.Params{Temperature: f(0.2)}.WithSeed(5)); m["temperature"] != 0.2 || m["seed"] != float64(5) {
		t.Fatalf("new temperature: %v", m)
	}
	comp := `{"prompt":"once","model":"x"}`
	if m := decode(comp, p.WithSeed(7)); m["prompt"] != "once" || m["messages"] != nil || m["model"] != "x" || m["seed"] != float64(7) {
		t.Fatalf("other input: %v", m)
	}
	if got := c.Path(runners.Request{Input: json.RawMessage(comp)}); got != CompletionPath {
		t.Fatalf("path %q", got)
	}
	if got := c.Path(runners.Request{Input: json.RawMessage(chat)}); got != ChatPath {
		t.Fatalf("path %q", got)
	}
	if _, err := c.Encode(runners.Request{Input: json.RawMessage(`[1]`)}); err == nil {
		t.Fatal("a JSON array was encoded")
	}
}

// TestDecodeAmbiguousKeys: a body whose keys JSON clients read differently
// (a key given twice, or in another case than its name) is a protocol
// error naming the keys, never an output, whichever parser sees it first.
func TestDecodeAmbiguousKeys(t *testing.T) {
	c, err := New(runners.HTTPConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ body, want string }{
		{`{"choices":[{"index":0,"text":"a"}],"Choices":[{"index":0,"text":"b"}]}`, `the keys "choices" and "Choices" in the body, which differ only in case`},
		{`{"Choices":[{"index":0,"text":"b"}]}`, `the key "Choices" in the body, which is "choices" in another case`},
		{`{"choices":[{"index":0,"text":"a"}],"choices":[{"index":0,"text":"b"}]}`, `gives the key "choices" twice in the body`},
		{`{"choiceſ":[{"text":"b"}],"choices":[{"text":"a"}]}`, `the key "choiceſ" in the body, which is "choices" in another case`},
		{`{"choices":[{"index":0,"text":"a","TEXT":"b"}]}`, `the keys "text" and "TEXT" in choices[0]`},
		{`{"choices":[{"message":{"content":"a","Content":"b"}}]}`, `the keys "content" and "Content" in choices[0].message`},
		{`{"choices":[{"message":{"tool_calls":[{"function":{"name":"f","Name":"g"}}]}}]}`, `the keys "name" and "Name" in choices[0].message.tool_calls[0].function`},
		{`{"choices":[{"text":"a"}],"system_fingerprint":"x","System_Fingerprint":"y"}`, `"system_fingerprint" and "System_Fingerprint"`},
		{`{"error":{"message":"m"},"ERROR":null}`, `"error" and "ERROR"`},
	}
	for _, k := range cases {
		_, err := c.Decode([]byte(k.body))
		if !errors.Is(err, runners.ErrProtocol) || !strings.Contains(err.Error(), k.want) {
			t.Errorf("Decode(%s) = %v, want a protocol error with %q", k.body, err, k.want)
		}
		if got := c.Canonical([]byte(k.body)); string(got) != k.body {
			t.Errorf("Canonical(%s) = %s, want the body as is (it does not parse)", k.body, got)
		}
	}
	// Keys reprise does not read may repeat; escapes that spell a name are that name.
	for _, body := range []string{
		`{"choices":[{"text":"a"}],"usage":{"x":1,"x":2,"X":3},"usage":null}`,
		`{"\u0063hoices":[{"text":"a"}]}`,
	} {
		resp, err := c.Decode([]byte(body))
		if err != nil || resp.Output.Text == nil || *resp.Output.Text != "a" {
			t.Errorf("Decode(%s) = %+v, %v, want text a", body, resp, err)
		}
	}
}
