package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/system"
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
	if probs = strictProblems(data); len(probs) > 0 {
		return nil, &Error{probs}
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
		probs = rec.Validate()
	} else {
		// Values that did not parse are zero: report the other malformed
		// values, but no integrity check on incomplete data.
		probs = append(probs, rec.malformedExcept(probs)...)
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
			"env_vars": {nullable: true, obj: &shape{anyKeys: true, elem: &field{}}},
			"limits": {nullable: true, obj: &shape{fields: map[string]*field{
				"memory_bytes": {nullable: true}, "nano_cpus": {nullable: true}, "pids": {nullable: true},
			}}},
			"http": {nullable: true, obj: &shape{fields: map[string]*field{
				"port": {nullable: true}, "model_name": {nullable: true}, "path": {nullable: true},
				"label_from": {nullable: true, obj: &shape{fields: map[string]*field{
					"json_pointer": {nullable: true}, "regex": {nullable: true},
				}}},
				"output_map": {nullable: true, obj: &shape{fields: map[string]*field{
					"label": {nullable: true}, "score": {nullable: true},
				}}},
				"logprobs": {nullable: true}, "top_logprobs": {nullable: true},
			}}},
			"seed_bits": {nullable: true},
			"server": {nullable: true, obj: &shape{fields: map[string]*field{
				"model": {nullable: true}, "system_fingerprint": {nullable: true},
				"model_digest": {nullable: true}, "model_digest_from": {nullable: true},
			}}},
		}}},
		"output": {required: true, obj: &shape{fields: map[string]*field{
			"label": {nullable: true}, "score": {nullable: true}, "text": {nullable: true}, "digest": {required: true},
		}}},
		"eval_suite": {nullable: true},
		"reference": {nullable: true, obj: &shape{fields: map[string]*field{
			"digest": {required: true}, "runs": {required: true},
		}}},
		"reprise_version": {},
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

// wire types: digests, times and the image as strings so each can be
// parsed with its path.
type wireRecord struct {
	Schema    string `json:"schema"`
	RequestID string `json:"request_id"`
	Timestamp string `json:"timestamp"`
	Input     struct {
		Digest    string `json:"digest"`
		MediaType string `json:"media_type"`
	} `json:"input"`
	Params system.Params `json:"params"`
	System struct {
		ID         string            `json:"id"`
		Image      string            `json:"image"`
		Model      wireArtifact      `json:"model"`
		Config     wireArtifact      `json:"config"`
		Components map[string]string `json:"components"`
	} `json:"system"`
	Runtime Runtime `json:"runtime"`
	Output  struct {
		output.Output
		Digest string `json:"digest"`
	} `json:"output"`
	EvalSuite      *string `json:"eval_suite"`
	RepriseVersion string  `json:"reprise_version"`
	Reference      *struct {
		Digest string `json:"digest"`
		Runs   int    `json:"runs"`
	} `json:"reference"`
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

// convert parses the wire strings into typed values; problems are the
// values that do not parse (Validate checks the rest).
func (w *wireRecord) convert(probs *[]Problem) *Record {
	r := &Record{
		Schema:         w.Schema,
		RequestID:      w.RequestID,
		Params:         w.Params,
		Runtime:        w.Runtime,
		RepriseVersion: w.RepriseVersion,
	}
	ts, err := time.Parse(time.RFC3339Nano, w.Timestamp)
	if err != nil {
		*probs = append(*probs, Problem{Field: "timestamp", Message: "not an RFC 3339 time: " + trimQuote(w.Timestamp)})
	}
	r.Timestamp = ts
	r.Input.Digest = parseDigest(w.Input.Digest, "input.digest", probs)
	r.Input.MediaType = w.Input.MediaType
	r.System.ID = parseDigest(w.System.ID, "system.id", probs)
	img, err := system.ParseImageRef(w.System.Image)
	if err != nil {
		kind := Malformed
		if errors.Is(err, system.ErrNotPinned) {
			kind = Integrity
		}
		*probs = append(*probs, Problem{Field: "system.image", Message: err.Error(), Kind: kind})
	}
	r.System.Image = img
	r.System.Model = w.System.Model.convert("system.model", probs)
	r.System.Config = w.System.Config.convert("system.config", probs)
	if len(w.System.Components) > 0 {
		r.System.Components = make(map[string]digest.Digest, len(w.System.Components))
		for _, name := range slices.Sorted(maps.Keys(w.System.Components)) {
			r.System.Components[name] = parseDigest(w.System.Components[name], "system.components."+name, probs)
		}
	}
	r.Output.Output = w.Output.Output
	r.Output.Digest = parseDigest(w.Output.Digest, "output.digest", probs)
	if w.EvalSuite != nil {
		r.EvalSuite = parseDigest(*w.EvalSuite, "eval_suite", probs)
	}
	if w.Reference != nil {
		r.Reference = &Reference{Digest: parseDigest(w.Reference.Digest, "reference.digest", probs), Runs: w.Reference.Runs}
	}
	return r
}

func (a wireArtifact) convert(path string, probs *[]Problem) system.Artifact {
	return system.Artifact{Name: a.Name, Version: a.Version, Digest: parseDigest(a.Digest, path+".digest", probs)}
}
