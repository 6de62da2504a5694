package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// streamChunk is one server-sent event of an openai stream.
type streamChunk struct {
	Model             string `json:"model"`
	SystemFingerprint string `json:"system_fingerprint"`
	Choices           []struct {
		Index int     `json:"index"`
		Text  *string `json:"text"`
		Delta *struct {
			Content   *string `json:"content"`
			ToolCalls []struct {
				Index    int    `json:"index"`
				Type     string `json:"type"`
				Function struct {
					Name      string `json:"name"`
					Arguments string `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
}

// assembled is one choice put together from its deltas.
type assembled struct {
	index   int
	content *string
	tools   []map[string]any
	finish  *string
}

// assembleSSE puts an openai event stream (data: lines, ending in
// data: [DONE]) together into the body the same request answers without
// stream: {"model", "system_fingerprint", "choices": [{index, message
// {role, content, tool_calls} or text, finish_reason}]}, so that its
// canonical bytes are those of the unstreamed answer. A stream without
// [DONE] is incomplete (an error).
func assembleSSE(b []byte, completions bool) ([]byte, error) {
	var model, fp string
	byIndex := map[int]*assembled{}
	done := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), len(b)+1)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		data, ok := bytes.CutPrefix(line, []byte("data:"))
		if !ok {
			continue
		}
		data = bytes.TrimSpace(data)
		if string(data) == "[DONE]" {
			done = true
			break
		}
		var c streamChunk
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("event %.80q: %v", data, err)
		}
		model, fp = first(c.Model, model), first(c.SystemFingerprint, fp)
		for _, ch := range c.Choices {
			a := byIndex[ch.Index]
			if a == nil {
				a = &assembled{index: ch.Index}
				byIndex[ch.Index] = a
			}
			a.add(ch.Text, ch.FinishReason)
			if ch.Delta != nil {
				a.add(ch.Delta.Content, nil)
				for _, tc := range ch.Delta.ToolCalls {
					for len(a.tools) <= tc.Index {
						a.tools = append(a.tools, map[string]any{"type": "function", "function": map[string]any{"name": "", "arguments": ""}})
					}
					f := a.tools[tc.Index]["function"].(map[string]any)
					f["name"] = f["name"].(string) + tc.Function.Name
					f["arguments"] = f["arguments"].(string) + tc.Function.Arguments
				}
			}
		}
	}
	if !done {
		return nil, errors.New("the stream ended without data: [DONE]")
	}
	return marshalAssembled(model, fp, byIndex, completions)
}

func (a *assembled) add(s, finish *string) {
	if s != nil {
		v := ""
		if a.content != nil {
			v = *a.content
		}
		v += *s
		a.content = &v
	}
	if finish != nil {
		a.finish = finish
	}
}

func marshalAssembled(model, fp string, byIndex map[int]*assembled, completions bool) ([]byte, error) {
	idx := make([]int, 0, len(byIndex))
	for i := range byIndex {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	choices := make([]map[string]any, 0, len(idx))
	for _, i := range idx {
		a := byIndex[i]
		if a.content == nil && len(a.tools) == 0 {
			empty := "" // as the unstreamed answer: content "", not null
			a.content = &empty
		}
		c := map[string]any{"index": a.index, "finish_reason": a.finish}
		if completions {
			c["text"] = a.content
		} else {
			m := map[string]any{"role": "assistant", "content": a.content}
			if len(a.tools) > 0 {
				m["tool_calls"] = a.tools
			}
			c["message"] = m
		}
		choices = append(choices, c)
	}
	return json.Marshal(map[string]any{"model": model, "system_fingerprint": fp, "choices": choices})
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
