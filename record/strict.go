package record

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// strictProblems walks a document that is already known to be valid JSON
// token by token and reports what encoding/json silently accepts: a key
// that appears twice in one object (at any depth; json.Unmarshal keeps the
// last), and a string (key or value) that is not valid UTF-8, raw or
// through a lone surrogate escape (json.Unmarshal turns both into U+FFFD,
// so two different invalid labels would compare equal). Each problem names
// the field.
func strictProblems(data []byte) []Problem {
	var probs []Problem
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// One frame per open object or array: the object's keys seen so far, or
	// the array's next index.
	type frame struct {
		path  string
		keys  map[string]bool
		isObj bool
		index int
		key   string // the current key of an object (its value comes next)
		// wantKey: in an object, the next string token is a key.
		wantKey bool
	}
	var stack []*frame
	valuePath := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.isObj {
			return join(f.path, f.key)
		}
		return f.path + "[" + strconv.Itoa(f.index) + "]"
	}
	afterValue := func() {
		if len(stack) == 0 {
			return
		}
		f := stack[len(stack)-1]
		if f.isObj {
			f.wantKey = true
		} else {
			f.index++
		}
	}
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return probs // io.EOF, or an error Parse has already reported
		}
		raw := data[start:dec.InputOffset()]
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{path: valuePath(), isObj: t == '{', keys: map[string]bool{}, wantKey: t == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
				afterValue()
			}
		case string:
			if f := stack[len(stack)-1]; f.isObj && f.wantKey {
				path := join(f.path, t)
				if !validJSONString(raw) {
					probs = append(probs, Problem{Field: f.path, Message: "a key is not valid UTF-8: " + trimQuote(t)})
				} else if f.keys[t] {
					probs = append(probs, Problem{Field: path, Message: "duplicate key"})
				}
				f.keys[t] = true
				f.key, f.wantKey = t, false
				continue
			}
			if !validJSONString(raw) {
				probs = append(probs, Problem{Field: valuePath(), Message: "not valid UTF-8"})
			}
			afterValue()
		default:
			afterValue()
		}
	}
}

// validJSONString reports whether the JSON string literal in raw (which
// may carry separators and white space around it) is valid UTF-8 once
// decoded: no invalid raw bytes and no unpaired surrogate escape.
func validJSONString(raw []byte) bool {
	if !utf8.Valid(raw) {
		return false
	}
	i := bytes.IndexByte(raw, '"')
	if i < 0 {
		return true
	}
	s := raw[i+1:]
	hex4 := func(b []byte) (rune, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v, err := strconv.ParseUint(string(b[:4]), 16, 32)
		return rune(v), err == nil
	}
	for j := 0; j < len(s); j++ {
		if s[j] == '"' {
			return true
		}
		if s[j] != '\\' {
			continue
		}
		j++
		if j >= len(s) || s[j] != 'u' {
			continue
		}
		r, ok := hex4(s[j+1:])
		if !ok {
			return false
		}
		j += 4
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return false // a low surrogate without its high half
		case r >= 0xD800 && r <= 0xDBFF:
			if j+2 >= len(s) || s[j+1] != '\\' || s[j+2] != 'u' {
				return false
			}
			lo, ok := hex4(s[j+3:])
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return false
			}
			j += 6
		}
	}
	return true
}
