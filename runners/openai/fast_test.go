package openai

import (
	"bytes"
	"math/rand/v2"
	"reflect"
	"testing"
)

// fastSeeds are bodies servers write (vLLM, llama.cpp server, TGI, the
// fixture) and bodies meant to trip a hand-written parser.
var fastSeeds = []string{
	`{"id":"cmpl-1","object":"chat.completion","created":1,"model":"text-story-1.0","system_fingerprint":"fp_547d0d1e50bc","choices":[{"finish_reason":"stop","index":0,"logprobs":null,"message":{"content":"closed the file and wrote approved on the first page .","role":"assistant"}}],"usage":{"completion_tokens":11,"prompt_tokens":4}}`,
	`{"id":"chatcmpl-9f","object":"chat.completion","created":1731000000,"model":"meta-llama/Llama-3.1-8B-Instruct","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"chatcmpl-tool-1","type":"function","function":{"name":"approve_loan","arguments":"{\"amount\": 25000, \"term\": \"36m\"}"}}],"reasoning_content":null},"logprobs":null,"finish_reason":"tool_calls","stop_reason":128008}],"usage":{"prompt_tokens":201,"total_tokens":230,"completion_tokens":29},"prompt_logprobs":null}`,
	`{"id":"cmpl-2","object":"text_completion","created":2,"model":"m","choices":[{"index":0,"text":" Once upon a time\n\t\"quoted\" \\ back\/slash \u00e9\u4e2d\ud83d\ude00 \ud800 lone \udc00 low \u0000 nul","logprobs":{"tokens":[" Once"," upon"],"token_logprobs":[-0.25,-1.5e-3],"top_logprobs":[{" Once":-0.25},{" upon":-0.0015}],"text_offset":[0,5]},"finish_reason":"length"}]}`,
	` { "choices" : [ { "index" : 3 , "message" : { "content" : "é中😀 raw utf-8" } , "finish_reason" : null } , { "index" : -1 , "text" : null } ] , "system_fingerprint" : "" } ` + "\n",
	`{"error":{"message":"model not loaded","type":"invalid_request_error","code":404}}`,
	`{"error":null,"choices":[]}`,
	`{"choices":null}`,
	`{"choices":[{"message":{"tool_calls":[]}}]}`,
	`{"choices":[{"message":{"tool_calls":null,"content":""}}],"x":[true,false,null,0,-0.5e+10,1E2,{"a":[[[]]]}]}`,
	`{"choices":[{"text":"` + "\xff\xfe bad utf-8 \xe4\xb8" + `"}]}`,
	`{}`,
	// Declined from here on (fastAccepted).
	`{"Choices":[{"index":0}]}`,
	`{"choiceſ":[{"index":0}]}`,
	`{"choices":[{"index":0}],"choices":[{"index":1}]}`,
	`{"choices":[{"message":{"content":"a"},"message":{"tool_calls":[{"function":{"name":"f"}}]}}]}`,
	`{"choices":[{"index":1.0}]}`,
	`{"choices":[{"index":1e0}]}`,
	`{"choices":[{"index":99999999999999999999}]}`,
	`{"choices":[null]}`,
	`{"choices":[{"finish_reason":1}]}`,
	`{"system_fingerprint":null}`,
	`{"choices":[{"text":"a` + "\x01" + `b"}]}`,
	`{"choices":[{"text":"\x"}]}`,
	`{"choices":[{"text":"\u12"}]}`,
	`{"\u0063hoices":[{"index":0}]}`,
	`{"choices":[{"index":0}]} x`,
	`{"choices":[{"index":0},]}`,
	`{"choices":[{"index":01}]}`,
	`{"a":tru}`,
	`[]`,
	`{"choices":{}}`,
	`{"choices":[{"message":{"tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"},"function":{"name":"g"}}]}}]}`,
	`{"choices":[{"message":{"tool_calls":[{"type":null}]}}]}`,
}

// fastAccepted is how many of fastSeeds, from the first, the fast path takes.
const fastAccepted = 11

// checkFast fails t when fastParse accepts body and encoding/json decodes
// it differently or not at all.
func checkFast(t *testing.T, body []byte) (accepted bool) {
	t.Helper()
	trimmed := bytes.TrimSpace(body)
	fw, ok := fastParse(trimmed)
	if !ok {
		return false
	}
	sw, err := slowParse(trimmed)
	if err != nil {
		t.Fatalf("fastParse accepted %q, encoding/json: %v", body, err)
	}
	if !reflect.DeepEqual(fw, sw) {
		t.Fatalf("%q:\nfast %#v\nslow %#v", body, fw, sw)
	}
	return true
}

// TestFastParseAgrees: on every seed and on 300,000 mutations of them
// (a fixed stream), fastParse either declines or decodes exactly what
// encoding/json decodes; the bodies servers write are taken by the fast
// path (else the speed-up is gone unseen).
func TestFastParseAgrees(t *testing.T) {
	for i, s := range fastSeeds {
		ok := checkFast(t, []byte(s))
		if want := i < fastAccepted; ok != want {
			t.Errorf("seed %d: accepted %v, want %v: %q", i, ok, want, s)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[],:"\ u0123456789abcdefnulltrue-+.eE` + "\t\n\xff\xc3\xa9")
	accepted := 0
	const n = 300000
	for range n {
		b := []byte(fastSeeds[rng.IntN(len(fastSeeds))])
		for range 1 + rng.IntN(3) {
			if len(b) == 0 {
				break
			}
			i := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0: // replace a byte
				b[i] = alphabet[rng.IntN(len(alphabet))]
			case 1: // insert a byte
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			case 2: // delete a span
				j := min(len(b), i+1+rng.IntN(8))
				b = append(b[:i], b[j:]...)
			case 3: // repeat a span
				j := min(len(b), i+1+rng.IntN(24))
				b = append(b[:j], append(bytes.Clone(b[i:j]), b[j:]...)...)
			}
		}
		if checkFast(t, b) {
			accepted++
		}
	}
	// A mutation mostly breaks the JSON; enough still parse to mean something.
	if accepted < n/20 {
		t.Errorf("only %d of %d mutations accepted", accepted, n)
	}
	t.Logf("%d of %d mutations taken by the fast path, all agreeing", accepted, n)
}

// FuzzFastParse: go test -fuzz FuzzFastParse ./runners/openai
func FuzzFastParse(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFast(t, b) })
}

func BenchmarkParse(b *testing.B) {
	raw := []byte(fastSeeds[0])
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, ok := fastParse(raw); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, err := slowParse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
}
