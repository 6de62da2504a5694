package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/replay/digest"
)

// Kind classifies a Problem.
type Kind int

const (
	// Malformed: the record is not a valid v1 record (exit 2).
	Malformed Kind = iota
	// Integrity: the record is well-formed but not pinned or not consistent:
	// an image pinned by tag, a system id that does not recompute (exit 4).
	Integrity
)

// Problem is one thing wrong with a record, naming the field.
type Problem struct {
	Field   string `json:"field"` // dotted JSON path, e.g. "system.model.digest"; "" for the whole document
	Message string `json:"message"`
	Kind    Kind   `json:"-"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Error lists every problem found in one record. It wraps ErrMalformed or
// ErrIntegrity (ErrIntegrity when any problem is an integrity problem and no
// problem is malformed).
type Error struct {
	Problems []Problem
}

var (
	// ErrMalformed: invalid JSON, a missing or unknown field, a bad value.
	ErrMalformed = errors.New("malformed decision record")
	// ErrIntegrity: an image pinned by tag, or a system id that does not recompute.
	ErrIntegrity = errors.New("decision record integrity")
)

func (e *Error) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap returns ErrMalformed or ErrIntegrity.
func (e *Error) Unwrap() error {
	for _, p := range e.Problems {
		if p.Kind == Malformed {
			return ErrMalformed
		}
	}
	return ErrIntegrity
}

// MaxSize is the largest record document Decode accepts, in bytes.
const MaxSize = 1 << 20

// Decode reads one record strictly: invalid JSON, unknown fields, missing
// required fields and invalid values are all reported (as *Error, naming each
// field). A record whose only problems are integrity problems (image pinned
// by tag, system id mismatch) is returned together with the *Error, so callers
// can still report on it.
func Decode(r io.Reader) (*Record, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	return Parse(data)
}

// Parse is Decode for a byte slice.
func Parse(data []byte) (*Record, error) {
	if len(data) > MaxSize {
		return nil, &Error{[]Problem{{Message: fmt.Sprintf("record larger than %d bytes", MaxSize)}}}
	}
	var generic any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&generic); err != nil {
		return nil, &Error{[]Problem{{Message: "invalid JSON: " + jsonErr(data, err)}}}
	}
	if dec.More() {
		return nil, &Error{[]Problem{{Message: "invalid JSON: more than one value in the document"}}}
	}
	var probs []Problem
	obj, ok := generic.(map[string]any)
	if !ok {
		return nil, &Error{[]Problem{{Message: "a record must be a JSON object"}}}
	}
	checkShape(obj, recordShape, "", &probs)
	if len(probs) > 0 {
		return nil, &Error{probs}
	}
	var w wireRecord
	if err := json.Unmarshal(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &Error{[]Problem{{Field: te.Field, Message: fmt.Sprintf("want %s, got %s", te.Type, te.Value)}}}
		}
		return nil, &Error{[]Problem{{Message: "invalid record: " + err.Error()}}}
	}
	rec := w.convert(&probs)
	if len(probs) == 0 {
		probs = append(probs, rec.Check()...)
	}
	if len(probs) > 0 {
		e := &Error{probs}
		if errors.Is(e, ErrMalformed) {
			return nil, e
		}
		return rec, e
	}
	return rec, nil
}

func jsonErr(data []byte, err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := 1, 1
		for _, c := range data[:min(int(se.Offset), len(data))] {
			if c == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
		return fmt.Sprintf("%v (line %d, column %d)", se, line, col)
	}
	if errors.Is(err, io.EOF) {
		return "empty document"
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of document"
	}
	return err.Error()
}

// shape describes the allowed keys of a JSON object; required keys must be present.
type shape struct {
	fields  map[string]*field
	anyKeys bool   // a map with free keys (each value of elem shape)
	elem    *field // for anyKeys
}

type field struct {
	required bool
	nullable bool
	obj      *shape
}

var (
	artifactShape = &shape{fields: map[string]*field{
		"name": {required: true}, "version": {required: true}, "digest": {required: true},
	}}
	recordShape = &shape{fields: map[string]*field{
		"schema":     {required: true},
		"request_id": {required: true},
		"timestamp":  {required: true},
		"input": {required: true, obj: &shape{fields: map[string]*field{
			"digest": {required: true}, "media_type": {required: true},
		}}},
		"params": {obj: &shape{fields: map[string]*field{
			"seed": {nullable: true}, "temperature": {nullable: true}, "top_p": {nullable: true}, "max_tokens": {nullable: true},
		}}},
		"system": {required: true, obj: &shape{fields: map[string]*field{
			"id":         {required: true},
			"image":      {required: true},
			"model":      {required: true, obj: artifactShape},
			"config":     {required: true, obj: artifactShape},
			"components": {nullable: true, obj: &shape{anyKeys: true, elem: &field{}}},
		}}},
		"runtime": {required: true, obj: &shape{fields: map[string]*field{
			"protocol":       {required: true},
			"hardware_class": {required: true},
			"env": {nullable: true, obj: &shape{fields: map[string]*field{
				"os": {nullable: true}, "driver": {nullable: true},
				"libs": {nullable: true, obj: &shape{anyKeys: true, elem: &field{}}},
			}}},
		}}},
		"output": {required: true, obj: &shape{fields: map[string]*field{
			"label": {nullable: true}, "score": {nullable: true}, "text": {nullable: true}, "digest": {required: true},
		}}},
		"eval_suite": {nullable: true},
	}}
)

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// checkShape reports unknown fields, missing required fields, nulls where a
// value is required, and non-objects where an object is expected.
func checkShape(obj map[string]any, s *shape, prefix string, probs *[]Problem) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := join(prefix, k)
		var f *field
		if s.anyKeys {
			f = s.elem
		} else if f = s.fields[k]; f == nil {
			*probs = append(*probs, Problem{Field: path, Message: "unknown field"})
			continue
		}
		v := obj[k]
		if v == nil {
			if !f.nullable {
				*probs = append(*probs, Problem{Field: path, Message: "must not be null"})
			}
			continue
		}
		if f.obj != nil {
			sub, ok := v.(map[string]any)
			if !ok {
				*probs = append(*probs, Problem{Field: path, Message: "must be a JSON object"})
				continue
			}
			checkShape(sub, f.obj, path, probs)
		}
	}
	if s.anyKeys {
		return
	}
	req := make([]string, 0)
	for k, f := range s.fields {
		if f.required {
			if _, ok := obj[k]; !ok {
				req = append(req, k)
			}
		}
	}
	sort.Strings(req)
	for _, k := range req {
		*probs = append(*probs, Problem{Field: join(prefix, k), Message: "required field missing"})
	}
}

// wire types: digests as strings so each can be validated with its path.
type wireRecord struct {
	Schema    string `json:"schema"`
	RequestID string `json:"request_id"`
	Timestamp string `json:"timestamp"`
	Input     struct {
		Digest    string `json:"digest"`
		MediaType string `json:"media_type"`
	} `json:"input"`
	Params Params `json:"params"`
	System struct {
		ID         string            `json:"id"`
		Image      string            `json:"image"`
		Model      wireArtifact      `json:"model"`
		Config     wireArtifact      `json:"config"`
		Components map[string]string `json:"components"`
	} `json:"system"`
	Runtime Runtime `json:"runtime"`
	Output  struct {
		Label  *string  `json:"label"`
		Score  *float64 `json:"score"`
		Text   *string  `json:"text"`
		Digest string   `json:"digest"`
	} `json:"output"`
	EvalSuite *string `json:"eval_suite"`
}

type wireArtifact struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

func parseDigest(s, path string, probs *[]Problem) digest.Digest {
	d, err := digest.Parse(s)
	if err != nil {
		*probs = append(*probs, Problem{Field: path, Message: "not a sha256 digest: " + trimQuote(s)})
	}
	return d
}

func trimQuote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return fmt.Sprintf("%q", s)
}

var (
	requestIDRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$`)
	componentNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,99}$`)
	hwClassRe       = regexp.MustCompile(`^(cpu|gpu)/[a-z0-9_.-]+/[A-Za-z0-9_.+-]+$`)
	mediaTypeRe     = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$`)
)

func (w *wireRecord) convert(probs *[]Problem) *Record {
	r := &Record{
		Schema:    w.Schema,
		RequestID: w.RequestID,
		Params:    w.Params,
		Runtime:   w.Runtime,
	}
	if w.Schema != Schema {
		*probs = append(*probs, Problem{Field: "schema", Message: fmt.Sprintf("unsupported schema %s (want %q)", trimQuote(w.Schema), Schema)})
	}
	if !requestIDRe.MatchString(w.RequestID) {
		*probs = append(*probs, Problem{Field: "request_id", Message: "must be 1-200 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit, got " + trimQuote(w.RequestID)})
	}
	ts, err := time.Parse(time.RFC3339Nano, w.Timestamp)
	if err != nil {
		*probs = append(*probs, Problem{Field: "timestamp", Message: "not an RFC 3339 time: " + trimQuote(w.Timestamp)})
	}
	r.Timestamp = ts
	r.Input.Digest = parseDigest(w.Input.Digest, "input.digest", probs)
	r.Input.MediaType = w.Input.MediaType
	if !mediaTypeRe.MatchString(w.Input.MediaType) {
		*probs = append(*probs, Problem{Field: "input.media_type", Message: "not a media type: " + trimQuote(w.Input.MediaType)})
	}
	checkParams(&w.Params, probs)

	r.System.ID = parseDigest(w.System.ID, "system.id", probs)
	r.System.Image = w.System.Image
	if _, err := ParseImageRef(w.System.Image); err != nil {
		kind := Malformed
		if errors.Is(err, ErrNotPinned) {
			kind = Integrity
		}
		*probs = append(*probs, Problem{Field: "system.image", Message: err.Error(), Kind: kind})
	}
	r.System.Model = w.System.Model.convert("system.model", probs)
	r.System.Config = w.System.Config.convert("system.config", probs)
	if len(w.System.Components) > 0 {
		r.System.Components = make(map[string]digest.Digest, len(w.System.Components))
		for name, s := range w.System.Components {
			path := "system.components." + name
			if !componentNameRe.MatchString(name) {
				*probs = append(*probs, Problem{Field: path, Message: "component name must match " + componentNameRe.String()})
			}
			r.System.Components[name] = parseDigest(s, path, probs)
		}
	}

	found := false
	for _, p := range Protocols {
		found = found || w.Runtime.Protocol == p
	}
	if !found {
		*probs = append(*probs, Problem{Field: "runtime.protocol", Message: fmt.Sprintf("unknown protocol %s (want one of %s)", trimQuote(w.Runtime.Protocol), strings.Join(Protocols, ", "))})
	}
	if !hwClassRe.MatchString(w.Runtime.HardwareClass) {
		*probs = append(*probs, Problem{Field: "runtime.hardware_class", Message: "want cpu/<arch>/<level> or gpu/<vendor>/<product>, got " + trimQuote(w.Runtime.HardwareClass)})
	}

	r.Output.Label, r.Output.Score, r.Output.Text = w.Output.Label, w.Output.Score, w.Output.Text
	if r.Output.Label == nil && r.Output.Score == nil && r.Output.Text == nil {
		*probs = append(*probs, Problem{Field: "output", Message: "at least one of label, score, text is required"})
	}
	if r.Output.Label != nil && *r.Output.Label == "" {
		*probs = append(*probs, Problem{Field: "output.label", Message: "must not be empty (use null)"})
	}
	if r.Output.Score != nil && (math.IsNaN(*r.Output.Score) || math.IsInf(*r.Output.Score, 0)) {
		*probs = append(*probs, Problem{Field: "output.score", Message: "must be finite"})
	}
	r.Output.Digest = parseDigest(w.Output.Digest, "output.digest", probs)
	if w.EvalSuite != nil {
		r.EvalSuite = parseDigest(*w.EvalSuite, "eval_suite", probs)
	}
	return r
}

func (a wireArtifact) convert(path string, probs *[]Problem) Artifact {
	if strings.TrimSpace(a.Name) == "" {
		*probs = append(*probs, Problem{Field: path + ".name", Message: "must not be empty"})
	}
	if strings.TrimSpace(a.Version) == "" {
		*probs = append(*probs, Problem{Field: path + ".version", Message: "must not be empty"})
	}
	return Artifact{Name: a.Name, Version: a.Version, Digest: parseDigest(a.Digest, path+".digest", probs)}
}

func checkParams(p *Params, probs *[]Problem) {
	if p.Temperature != nil && (*p.Temperature < 0 || math.IsNaN(*p.Temperature) || *p.Temperature > 100) {
		*probs = append(*probs, Problem{Field: "params.temperature", Message: "must be between 0 and 100"})
	}
	if p.TopP != nil && !(*p.TopP > 0 && *p.TopP <= 1) {
		*probs = append(*probs, Problem{Field: "params.top_p", Message: "must be in (0, 1]"})
	}
	if p.MaxTokens != nil && *p.MaxTokens <= 0 {
		*probs = append(*probs, Problem{Field: "params.max_tokens", Message: "must be positive"})
	}
}
