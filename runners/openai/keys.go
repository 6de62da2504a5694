package openai

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/reprise-dev/reprise/runners"
)

// fields are the keys an openai response is read by, per object, with the
// fields of the objects (or arrays of objects) under them.
type fields map[string]fields

var responseFields = fields{
	"choices": {
		"index": nil, "text": nil, "finish_reason": nil, "logprobs": nil,
		"message": {
			"content": nil,
			"tool_calls": {
				"type":     nil,
				"function": {"name": nil, "arguments": nil},
			},
		},
	},
	"system_fingerprint": nil,
	"model":              nil,
	"error":              nil,
}

// checkKeys refuses (runners.ErrProtocol) a body in which a key reprise
// reads is given twice in one object, or is written in another case than
// its name ("Choices", "choiceſ"): encoding/json folds case and takes the
// last of duplicates, while Python and JavaScript clients read the exact
// key (Python's json the last, some streaming parsers the first), so such
// a body says different things to different clients. Only the objects
// reprise reads are checked (a key given twice inside "usage" does not
// change what is read). t is valid JSON (encoding/json decoded it).
func checkKeys(t []byte) error {
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.UseNumber()
	return walkKeys(dec, responseFields, "")
}

// walkKeys reads one value from dec; an object (or the objects of an
// array) is checked against f. at is the value's place, for messages.
func walkKeys(dec *json.Decoder, f fields, at string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, f, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case '{':
		seen := map[string]string{} // field name → the key that gave it
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := tok.(string)
			name, sub, known := lookup(f, key)
			if !known {
				if err := walkKeys(dec, nil, at+"."+key); err != nil {
					return err
				}
				continue
			}
			if prev, dup := seen[name]; dup {
				if prev == key {
					return fmt.Errorf("%w: openai response gives the key %q twice in %s: JSON clients disagree on which one counts", runners.ErrProtocol, key, place(at))
				}
				return fmt.Errorf("%w: openai response has the keys %q and %q in %s, which differ only in case: JSON clients disagree on which one counts", runners.ErrProtocol, prev, key, place(at))
			}
			seen[name] = key
			if key != name {
				return fmt.Errorf("%w: openai response has the key %q in %s, which is %q in another case: JSON clients disagree on whether it counts", runners.ErrProtocol, key, place(at), name)
			}
			if err := walkKeys(dec, sub, at+"."+name); err != nil {
				return err
			}
		}
	}
	if _, err := dec.Token(); err != nil && err != io.EOF { // the closing delimiter
		return err
	}
	return nil
}

// lookup finds the field of f that key names, exactly or in another case
// (Unicode case folding, as encoding/json matches keys to fields).
func lookup(f fields, key string) (name string, sub fields, ok bool) {
	if sub, ok := f[key]; ok {
		return key, sub, true
	}
	for n, sub := range f {
		if strings.EqualFold(n, key) {
			return n, sub, true
		}
	}
	return "", nil, false
}

func place(at string) string {
	if at == "" {
		return "the body"
	}
	return strings.TrimPrefix(at, ".")
}
