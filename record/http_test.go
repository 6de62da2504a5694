package record

import (
	"errors"
	"strings"
	"testing"
)

func TestRuntimeHTTP(t *testing.T) {
	ok := mutate(t, func(m map[string]any) {
		obj(m, "runtime")["protocol"] = "openai"
		obj(m, "runtime")["http"] = map[string]any{"port": 8000, "model_name": "m", "path": "/v1/chat/completions",
			"label_from": map[string]any{"json_pointer": "/decision"}, "output_map": map[string]any{"label": "l", "score": "s"},
			"logprobs": true, "top_logprobs": 5}
	})
	rec, err := Parse(ok)
	if err != nil {
		t.Fatalf("valid http record: %v", err)
	}
	if h := rec.Runtime.HTTP; h == nil || h.Port != 8000 || h.LabelFrom.JSONPointer != "/decision" || h.OutputMap.Score != "s" || !h.Logprobs || h.TopLogprobs != 5 {
		t.Fatalf("runtime.http = %+v", rec.Runtime.HTTP)
	}
	for _, tc := range []struct {
		name, field string
		http        map[string]any
	}{
		{"port", "runtime.http.port", map[string]any{"port": 70000}},
		{"path", "runtime.http.path", map[string]any{"path": "v1/x"}},
		{"both extractors", "runtime.http.label_from", map[string]any{"label_from": map[string]any{"json_pointer": "/a", "regex": "a"}}},
		{"bad regex", "runtime.http.label_from.regex", map[string]any{"label_from": map[string]any{"regex": "("}}},
		{"unknown field", "runtime.http.hostname", map[string]any{"hostname": "x"}},
		{"top_logprobs over 20", "runtime.http.top_logprobs", map[string]any{"logprobs": true, "top_logprobs": 21}},
		{"top_logprobs negative", "runtime.http.top_logprobs", map[string]any{"logprobs": true, "top_logprobs": -1}},
		{"top_logprobs without logprobs", "runtime.http.top_logprobs", map[string]any{"top_logprobs": 2}},
		{"logprobs not a bool", "runtime.http.logprobs", map[string]any{"logprobs": "yes"}},
		{"logprobs without openai", "runtime.http.logprobs", map[string]any{"logprobs": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := mutate(t, func(m map[string]any) { obj(m, "runtime")["http"] = tc.http })
			_, err := Parse(b)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want a problem at %s", err, tc.field)
			}
		})
	}
}
