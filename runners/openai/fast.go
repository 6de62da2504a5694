package openai

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// fastParse decodes the fields of a response that Decode reads in one pass
// over its bytes, without reflection: encoding/json costs a replay run
// several times more, most of it on caches the network round trip has
// just emptied. It takes the shape servers write and declines (ok = false)
// whatever it is not sure of: invalid JSON, a key given twice or written
// with escapes or in another case than the field's name, a field of an
// unexpected type or null where a value is wanted, an index that is not a
// plain integer, nesting deeper than maxFastDepth. parse (encoding/json)
// then decides, so the result is always encoding/json's; FuzzFastParse
// checks that wherever fastParse accepts, the two agree. t is the body
// with its white space trimmed (as parse gives it).
func fastParse(t []byte) (w wireResponse, ok bool) {
	p := fastParser{b: t}
	defer func() {
		if r := recover(); r != nil {
			if r != errDecline {
				panic(r)
			}
			w, ok = wireResponse{}, false
		}
	}()
	seen := 0
	for more := p.openObject(); more; more = p.endMember() {
		switch key := p.key(); string(key) {
		case "choices":
			p.once(&seen, 1)
			if p.null() {
				w.Choices = nil
				continue
			}
			w.Choices = make([]choice, 0, 1)
			for more := p.openArray(); more; more = p.endElem() {
				w.Choices = append(w.Choices, p.choice())
			}
		case "system_fingerprint":
			p.once(&seen, 2)
			w.SystemFingerprint = p.str() // null leaves the field as it was: declined
		case "error":
			p.once(&seen, 4)
			w.Error = json.RawMessage(bytes.Clone(p.skip()))
		case "model":
			p.once(&seen, 8)
			w.Model = p.str() // null leaves the field as it was: declined
		default:
			p.other(key, "choices", "system_fingerprint", "error", "model")
			p.skip()
		}
	}
	p.ws()
	if p.i != len(p.b) {
		p.decline()
	}
	return w, true
}

func (p *fastParser) choice() (c choice) {
	seen := 0
	for more := p.openObject(); more; more = p.endMember() {
		switch key := p.key(); string(key) {
		case "index":
			p.once(&seen, 1)
			c.Index = p.integer()
		case "text":
			p.once(&seen, 2)
			c.Text = p.strOrNull()
		case "message":
			p.once(&seen, 4)
			if p.null() {
				continue
			}
			c.Message = &struct {
				Content   *string    `json:"content"`
				ToolCalls []toolCall `json:"tool_calls,omitempty"`
			}{}
			mseen := 0
			for more := p.openObject(); more; more = p.endMember() {
				switch key := p.key(); string(key) {
				case "content":
					p.once(&mseen, 1)
					c.Message.Content = p.strOrNull()
				case "tool_calls":
					p.once(&mseen, 2)
					if p.null() {
						continue
					}
					c.Message.ToolCalls = []toolCall{}
					for more := p.openArray(); more; more = p.endElem() {
						c.Message.ToolCalls = append(c.Message.ToolCalls, p.toolCall())
					}
				default:
					p.other(key, "content", "tool_calls")
					p.skip()
				}
			}
		case "finish_reason":
			p.once(&seen, 8)
			c.FinishReason = p.reason()
		case "logprobs":
			p.once(&seen, 16)
			c.Logprobs = json.RawMessage(bytes.Clone(p.skip()))
		default:
			p.other(key, "index", "text", "message", "finish_reason", "logprobs")
			p.skip()
		}
	}
	return c
}

func (p *fastParser) toolCall() (tc toolCall) {
	seen := 0
	for more := p.openObject(); more; more = p.endMember() {
		switch key := p.key(); string(key) {
		case "type":
			p.once(&seen, 1)
			tc.Type = p.str()
		case "function":
			p.once(&seen, 2)
			fseen := 0
			for more := p.openObject(); more; more = p.endMember() {
				switch key := p.key(); string(key) {
				case "name":
					p.once(&fseen, 1)
					tc.Function.Name = p.str()
				case "arguments":
					p.once(&fseen, 2)
					tc.Function.Arguments = p.str()
				default:
					p.other(key, "name", "arguments")
					p.skip()
				}
			}
		default:
			p.other(key, "type", "function")
			p.skip()
		}
	}
	return tc
}

// maxFastDepth bounds the nesting fastParse follows (encoding/json allows
// 10,000 levels; deeper bodies go to it).
const maxFastDepth = 512

type fastDecline struct{}

var errDecline any = fastDecline{}

type fastParser struct {
	b     []byte
	i     int
	depth int
}

func (p *fastParser) decline() { panic(errDecline) }

// once declines a key given twice in one object (encoding/json would
// merge or overwrite).
func (p *fastParser) once(seen *int, bit int) {
	if *seen&bit != 0 {
		p.decline()
	}
	*seen |= bit
}

// other declines a key that is none of names but matches one of them
// case-insensitively (encoding/json takes it for the field; also
// "choiceſ": folding is Unicode's).
func (p *fastParser) other(key []byte, names ...string) {
	ascii := true
	for _, c := range key {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	for _, n := range names {
		// An ASCII key folds to an (ASCII) name of its own length only.
		if (!ascii || len(key) == len(n)) && bytes.EqualFold(key, []byte(n)) {
			p.decline()
		}
	}
}

// space marks JSON's white space.
var space = [256]bool{' ': true, '\t': true, '\n': true, '\r': true}

func (p *fastParser) ws() {
	b, i := p.b, p.i
	for i < len(b) && space[b[i]] {
		i++
	}
	p.i = i
}

// peek returns the next byte after white space (declining at the end).
func (p *fastParser) peek() byte {
	b, i := p.b, p.i
	for i < len(b) {
		if c := b[i]; !space[c] {
			p.i = i
			return c
		}
		i++
	}
	p.decline()
	return 0
}

// null consumes a null literal if one comes next.
func (p *fastParser) null() bool {
	if p.peek() == 'n' {
		p.literal("null")
		return true
	}
	return false
}

func (p *fastParser) literal(lit string) {
	if !bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
		p.decline()
	}
	p.i += len(lit)
}

func (p *fastParser) open(c byte) {
	if p.peek() != c {
		p.decline()
	}
	p.i++
	p.depth++
	if p.depth > maxFastDepth {
		p.decline()
	}
}

// openObject consumes '{' and reports whether a member follows (an empty
// object is consumed whole).
func (p *fastParser) openObject() bool {
	p.open('{')
	if p.peek() == '}' {
		p.i++
		p.depth--
		return false
	}
	return true
}

// key reads a member's key and its colon; a key with escapes is declined.
func (p *fastParser) key() []byte {
	if p.peek() != '"' {
		p.decline()
	}
	key, escaped := p.rawString()
	if escaped || p.peek() != ':' {
		p.decline()
	}
	p.i++
	return key
}

// endMember consumes what follows a member's value: ',' (another member
// follows) or '}'.
func (p *fastParser) endMember() bool {
	return p.end('}')
}

// openArray consumes '[' and reports whether an element follows.
func (p *fastParser) openArray() bool {
	p.open('[')
	if p.peek() == ']' {
		p.i++
		p.depth--
		return false
	}
	return true
}

// endElem consumes what follows an element: ',' or ']'.
func (p *fastParser) endElem() bool {
	return p.end(']')
}

func (p *fastParser) end(closer byte) bool {
	switch p.peek() {
	case ',':
		p.i++
		return true
	case closer:
		p.i++
		p.depth--
		return false
	}
	p.decline()
	return false
}

// skip validates one value and returns its bytes.
func (p *fastParser) skip() []byte {
	c := p.peek()
	start := p.i
	switch {
	case c == '{':
		for more := p.openObject(); more; more = p.endMember() {
			p.key()
			p.skip()
		}
	case c == '[':
		for more := p.openArray(); more; more = p.endElem() {
			p.skip()
		}
	case c == '"':
		p.rawString()
	case c == 't':
		p.literal("true")
	case c == 'f':
		p.literal("false")
	case c == 'n':
		p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		p.number()
	default:
		p.decline()
	}
	return p.b[start:p.i]
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *fastParser) number() {
	b, i := p.b, p.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		p.decline()
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			p.decline()
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			p.decline()
		}
	}
	p.i = i
}

// integer reads a plain integer of at most 18 digits (no fraction, no
// exponent); anything else is declined.
func (p *fastParser) integer() int {
	p.ws()
	start := p.i
	p.number()
	s := p.b[start:p.i]
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		p.decline()
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			p.decline()
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	if int64(int(n)) != n { // a 32-bit int: encoding/json says it overflows
		p.decline()
	}
	return int(n)
}

// plain marks the bytes a string holds as they are: not a quote, a
// backslash or a control character.
var plain = func() (t [256]bool) {
	for c := ' '; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

const lsb = 0x0101010101010101

// hasZero is non-zero when a byte of v is zero.
func hasZero(v uint64) uint64 { return (v - lsb) & ^v & (lsb * 0x80) }

// hasLess is non-zero when a byte of v is below n (n <= 128).
func hasLess(v uint64, n byte) uint64 { return (v - lsb*uint64(n)) & ^v & (lsb * 0x80) }

// rawString consumes a string and returns its bytes between the quotes,
// validated (no control characters, escapes well formed), and whether it
// holds escapes.
func (p *fastParser) rawString() ([]byte, bool) {
	p.i++ // the opening quote, which the caller has seen
	start := p.i
	escaped := false
	b := p.b
	i := start
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character (exact tests: an 8-byte word is skipped
		// only when all its bytes are plain), then byte by byte.
		for i+8 <= len(b) {
			v := binary.LittleEndian.Uint64(b[i:])
			if hasZero(v^(lsb*'"'))|hasZero(v^(lsb*'\\'))|hasLess(v, ' ') != 0 {
				break
			}
			i += 8
		}
		for i < len(b) && plain[b[i]] {
			i++
		}
		if i >= len(b) {
			p.decline()
		}
		switch b[i] {
		case '"':
			p.i = i + 1
			return b[start:i], escaped
		case '\\':
			escaped = true
			if i+1 >= len(b) {
				p.decline()
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if getu4(b[i:]) < 0 {
					p.decline()
				}
				i += 6
			default:
				p.decline()
			}
		default: // a control character
			p.decline()
		}
	}
}

// reason reads a finish reason; the usual ones cost no string.
func (p *fastParser) reason() *string {
	if p.null() {
		return nil
	}
	if p.peek() != '"' {
		p.decline()
	}
	start := p.i
	raw, escaped := p.rawString()
	if !escaped {
		for _, r := range reasons {
			if string(raw) == r {
				s := r
				return &s
			}
		}
	}
	p.i = start
	s := p.str()
	return &s
}

var reasons = [...]string{"stop", "length", "tool_calls", "content_filter", "function_call"}

// strOrNull reads a string or null (nil).
func (p *fastParser) strOrNull() *string {
	if p.null() {
		return nil
	}
	s := p.str()
	return &s
}

// str reads a string value as encoding/json decodes it: escapes resolved,
// invalid UTF-8 and unpaired surrogates replaced by U+FFFD.
func (p *fastParser) str() string {
	if p.peek() != '"' {
		p.decline()
	}
	s, escaped := p.rawString()
	if !escaped && utf8.Valid(s) {
		return string(s)
	}
	return unquote(s)
}

// unquote resolves the escapes of a validated string body.
func unquote(s []byte) string {
	out := make([]byte, 0, len(s)+2*utf8.UTFMax)
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			switch s[r+1] {
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				rr := getu4(s[r:])
				r += 6
				if utf16.IsSurrogate(rr) {
					if rr1 := getu4(s[r:]); rr1 >= 0 {
						if dec := utf16.DecodeRune(rr, rr1); dec != unicode.ReplacementChar {
							r += 6
							out = utf8.AppendRune(out, dec)
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				out = utf8.AppendRune(out, rr)
				continue
			default: // '"', '\\', '/'
				out = append(out, s[r+1])
			}
			r += 2
		case c < utf8.RuneSelf:
			out = append(out, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			out = utf8.AppendRune(out, rr)
			r += size
		}
	}
	return string(out)
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}
