package jsonl

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// bigLine is a 1 MiB answer with its echoed id first, as pipelined
// systems send it.
var bigLine = []byte(`{"id":"r7","text":"` + strings.Repeat("lorem ipsum ", 1<<20/12) + `","score":0.5}`)

// BenchmarkLargeAnswer is what a session does with one 1 MiB answer line
// once it is read: Decode, then Canonical (the bytes the digests hash).
// B/op over the line's size is how many copies of it are made: the text's
// string (the decoded value) and the canonical bytes are the floor.
func BenchmarkLargeAnswer(b *testing.B) {
	b.SetBytes(int64(len(bigLine)))
	for b.Loop() {
		line := bytes.Clone(bigLine) // a fresh line, as readLine returns
		resp, err := Decode(line)
		if err != nil {
			b.Fatal(err)
		}
		Codec{}.Canonical(resp.Raw)
	}
}

// withoutIDDecoder is withoutID as it was written before issue 26, with
// encoding/json's Decoder: the reference the scanner must agree with.
func withoutIDDecoder(raw []byte) []byte {
	if !bytes.Contains(raw, []byte(`"id"`)) {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return raw
	}
	first := true
	for dec.More() {
		start := dec.InputOffset()
		key, err := dec.Token()
		if err != nil {
			return raw
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return raw
		}
		end := dec.InputOffset()
		if key == "id" {
			if first {
				rest := bytes.TrimLeft(raw[end:], " \t\r")
				if len(rest) > 0 && rest[0] == ',' {
					end = int64(len(raw) - len(rest) + 1)
				}
			}
			return append(bytes.Clone(raw[:start]), raw[end:]...)
		}
		first = false
	}
	return raw
}

// TestWithoutIDScanner: the in-place scanner cuts the same bytes as the
// Decoder-based cut on answers with the id first, in the middle, last,
// alone, nested (only the top-level one goes), inside strings, after
// escaped quotes, with white space, and on lines that are not objects.
func TestWithoutIDScanner(t *testing.T) {
	for _, line := range []string{
		`{"id":"r0","label":"a"}`, `{"label":"a","id":"r0","score":1}`, `{"label":"a", "id": "r0"}`,
		`{"id":"r0"}`, `{ "id" : 7 , "text" : "x" }`, `{"meta":{"id":"inner"},"id":"r1","text":"a\"id\"b"}`,
		`{"text":"say \"id\": no","id":null}`, `{"a":[1,{"id":2},"]"],"id":"r2"}`, `{"text":"\\","id":"r3"}`,
		`{"label":"a"}`, `["id"]`, `"id"`, `{"id"}`, `{"id":`, `{}`, `{"x":1,"id":"r","y":true,"z":-1.5e3}`,
		"{\"id\":\"r4\",\n\t\"label\":\"b\"}", `{"label":"a","\u0069d":"r5"}`, `{"i\"d":1,"id":2}`,
		"{\"id\":\"r6\"\n,\"label\":\"b\"}", `  {"id":"r7"  ,  "label":"c"  }  `,
	} {
		got, want := string(withoutID([]byte(line))), string(withoutIDDecoder([]byte(line)))
		if got != want {
			t.Errorf("withoutID(%s) = %s, the Decoder's cut %s", line, got, want)
		}
	}
	want := withoutIDDecoder(bigLine)
	if !bytes.Equal(withoutID(bigLine), want) || bytes.Contains(want[:20], []byte(`"id"`)) {
		t.Error("the 1 MiB answer's cut differs")
	}
}
