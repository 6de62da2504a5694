package record

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/system"
)

// The tests of this file hold the published JSON Schema
// (schema/decision-v1.schema.json) to the Go types and to the records this
// package writes. They carry a small validator for the subset of JSON Schema
// (draft 2020-12) the file uses; a keyword outside the subset fails the
// test, so the subset cannot silently grow.

// jsonSchema is a decoded schema document and its $defs.
type jsonSchema struct {
	root map[string]any
	defs map[string]any
}

func loadSchema(t *testing.T) *jsonSchema {
	t.Helper()
	b, err := os.ReadFile("schema/decision-v1.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	return &jsonSchema{root: root, defs: defs}
}

// resolve follows a "$ref": "#/$defs/<name>".
func (s *jsonSchema) resolve(n map[string]any) map[string]any {
	for {
		ref, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		next, ok := s.defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		if !ok {
			panic("unresolved $ref " + ref)
		}
		n = next
	}
}

// annotations are keywords that do not constrain a value.
var annotations = []string{"$schema", "$id", "$defs", "title", "description"}

// validate returns the problems of v (decoded with UseNumber) against n,
// each naming its JSON path.
func (s *jsonSchema) validate(path string, n map[string]any, v any) []string {
	n = s.resolve(n)
	var probs []string
	fail := func(format string, a ...any) { probs = append(probs, path+": "+fmt.Sprintf(format, a...)) }
	for kw, arg := range n {
		switch kw {
		case "type":
			var types []string
			switch a := arg.(type) {
			case string:
				types = []string{a}
			case []any:
				for _, x := range a {
					types = append(types, x.(string))
				}
			}
			if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
				fail("want type %v, got %s", types, jsonText(v))
			}
		case "const":
			if !jsonEqual(v, arg) {
				fail("want %v, got %s", arg, jsonText(v))
			}
		case "enum":
			if !slices.ContainsFunc(arg.([]any), func(e any) bool { return jsonEqual(v, e) }) {
				fail("%s is not one of %v", jsonText(v), arg)
			}
		case "pattern":
			if str, ok := v.(string); ok && !regexp.MustCompile(arg.(string)).MatchString(str) {
				fail("%q does not match %s", str, arg)
			}
		case "minLength":
			if str, ok := v.(string); ok && float64(len([]rune(str))) < arg.(float64) {
				fail("%q is shorter than %v", str, arg)
			}
		case "format":
			if str, ok := v.(string); ok && arg == "date-time" {
				if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
					fail("%q is not a date-time", str)
				}
			}
		case "minimum", "maximum", "exclusiveMinimum":
			num, ok := v.(json.Number)
			if !ok {
				continue
			}
			x, _ := num.Float64()
			bound := arg.(float64)
			if kw == "minimum" && x < bound || kw == "maximum" && x > bound || kw == "exclusiveMinimum" && x <= bound {
				fail("%s violates %s %v", num, kw, bound)
			}
		case "required":
			if obj, ok := v.(map[string]any); ok {
				for _, r := range arg.([]any) {
					if _, ok := obj[r.(string)]; !ok {
						fail("missing required %s", r)
					}
				}
			}
		case "properties", "additionalProperties", "propertyNames":
			// checked together below
		case "anyOf", "oneOf":
			passed := 0
			for _, sub := range arg.([]any) {
				if len(s.validate(path, sub.(map[string]any), v)) == 0 {
					passed++
				}
			}
			if passed == 0 || kw == "oneOf" && passed > 1 {
				fail("%s matches %d of the %s schemas", jsonText(v), passed, kw)
			}
		case "not":
			if len(s.validate(path, arg.(map[string]any), v)) == 0 {
				fail("%s matches the schema of not", jsonText(v))
			}
		default:
			if !slices.Contains(annotations, kw) {
				panic(fmt.Sprintf("%s: keyword %q is outside the validator's subset: extend schema_test.go", path, kw))
			}
		}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return probs
	}
	props, _ := n["properties"].(map[string]any)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range obj {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		if pn, ok := n["propertyNames"].(map[string]any); ok {
			probs = append(probs, s.validate(path+" (name "+k+")", pn, k)...)
		}
		if p, ok := props[k].(map[string]any); ok {
			probs = append(probs, s.validate(path+"."+k, p, obj[k])...)
			continue
		}
		switch ap := n["additionalProperties"].(type) {
		case bool:
			if !ap {
				fail("unknown property %s", k)
			}
		case map[string]any:
			probs = append(probs, s.validate(path+"."+k, ap, obj[k])...)
		}
	}
	return probs
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "number":
		_, ok := v.(json.Number)
		return ok
	case "integer":
		num, ok := v.(json.Number)
		if !ok {
			return false
		}
		if _, err := strconv.ParseInt(string(num), 10, 64); err == nil {
			return true
		}
		x, err := num.Float64()
		return err == nil && x == math.Trunc(x)
	}
	panic("unknown JSON Schema type " + t)
}

// jsonEqual compares a value decoded with UseNumber to one of the schema's
// (decoded without): numbers by value.
func jsonEqual(v, schemaValue any) bool {
	if num, ok := v.(json.Number); ok {
		x, err := num.Float64()
		return err == nil && x == schemaValue
	}
	return reflect.DeepEqual(v, schemaValue)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// fullRecord is the valid record with every optional field set.
func fullRecord(t *testing.T) *Record {
	t.Helper()
	r := validRecord(t)
	r.Runtime.Protocol = "openai"
	r.Runtime.EnvVars = map[string]string{"REPRISE_FIXTURE_MODE": "x", "OMP_NUM_THREADS": "1"}
	r.Runtime.Limits = &Limits{MemoryBytes: 512 << 20, NanoCPUs: 15e8, Pids: 64}
	r.Runtime.HTTP = &HTTP{Port: 8000, ModelName: "m", Path: "/v1/chat/completions",
		LabelFrom: &LabelFrom{Regex: "(approved|denied)"}, OutputMap: &OutputMap{Label: "l", Score: "s"},
		Logprobs: true, TopLogprobs: 5}
	text := "approved"
	r.Output.Text = &text
	r.Reference = &Reference{Digest: digest.FromBytes([]byte("ref")), Runs: 10}
	r.RepriseVersion = "(devel)+85328d6e9a1b+dirty"
	return r
}

// TestSchemaAcceptsRecords: every record the repository holds and every
// record this package writes validates against the schema (and parses).
func TestSchemaAcceptsRecords(t *testing.T) {
	s := loadSchema(t)
	records := map[string][]byte{}
	for _, p := range []string{"testdata/valid.json", "../cmd/reprise/testdata/records/valid.json"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		records[p] = b
	}
	marshal := func(name string, r *Record) {
		b, err := Marshal(r)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		records[name] = b
	}
	marshal("Marshal(valid)", validRecord(t))
	marshal("Marshal(full)", fullRecord(t))
	minimal := validRecord(t)
	minimal.Params, minimal.System.Components, minimal.Runtime.Env, minimal.EvalSuite = Record{}.Params, nil, nil, digest.Digest{}
	minimal.System.Seal()
	score := 0.5
	minimal.Output.Label, minimal.Output.Score = nil, &score
	marshal("Marshal(minimal)", minimal)
	for name, b := range records {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse(b); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			for _, p := range s.validate("", s.root, decodeNumbers(t, b)) {
				t.Error(p)
			}
		})
	}
}

// TestSchemaRejects: records that Parse refuses as malformed, in ways a
// schema can see, are refused by the schema too.
func TestSchemaRejects(t *testing.T) {
	s := loadSchema(t)
	malformed, err := os.ReadFile("../cmd/reprise/testdata/records/malformed.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		b    []byte
	}{
		{"cmd's malformed.json", malformed},
		{"unknown field", mutate(t, func(m map[string]any) { m["extra"] = 1 })},
		{"missing output.digest", mutate(t, func(m map[string]any) { delete(obj(m, "output"), "digest") })},
		{"empty output", mutate(t, func(m map[string]any) { m["output"] = map[string]any{"digest": obj(m, "output")["digest"]} })},
		{"image by tag", mutate(t, func(m map[string]any) { obj(m, "system")["image"] = "loan:latest" })},
		{"unknown protocol", mutate(t, func(m map[string]any) { obj(m, "runtime")["protocol"] = "grpc" })},
		{"pids out of range", mutate(t, func(m map[string]any) { obj(m, "runtime")["limits"] = map[string]any{"pids": 9999999999} })},
		{"memory below the range", mutate(t, func(m map[string]any) { obj(m, "runtime")["limits"] = map[string]any{"memory_bytes": 1024} })},
		{"reserved env var", mutate(t, func(m map[string]any) { obj(m, "runtime")["env_vars"] = map[string]any{"REPRISE_MODEL": "x"} })},
		{"top_logprobs over 20", mutate(t, func(m map[string]any) { obj(m, "runtime")["http"] = map[string]any{"top_logprobs": 21} })},
		{"temperature a string", mutate(t, func(m map[string]any) { obj(m, "params")["temperature"] = "hot" })},
		{"seed not an integer", mutate(t, func(m map[string]any) { obj(m, "params")["seed"] = 1.5 })},
		{"timestamp not a date", mutate(t, func(m map[string]any) { m["timestamp"] = "yesterday" })},
		{"reference without runs", mutate(t, func(m map[string]any) { m["reference"] = map[string]any{"digest": obj(m, "output")["digest"]} })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse(tc.b); err == nil {
				t.Fatal("Parse accepted it")
			}
			if probs := s.validate("", s.root, decodeNumbers(t, tc.b)); len(probs) == 0 {
				t.Fatal("the schema accepted it")
			}
		})
	}
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
	timeType      = reflect.TypeFor[time.Time]()
)

// goField is one JSON field of a Go struct.
type goField struct {
	typ       reflect.Type
	omittable bool // omitempty or omitzero: absent when zero
}

// jsonFields lists the JSON fields of struct type t as encoding/json writes
// them (embedded structs without a tag are flattened).
func jsonFields(t reflect.Type) map[string]goField {
	fields := map[string]goField{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				fields[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := slices.Contains(strings.Split(opts, ","), "omitempty") || slices.Contains(strings.Split(opts, ","), "omitzero")
		fields[name] = goField{typ: f.Type, omittable: omit}
	}
	return fields
}

// TestSchemaMatchesGoTypes walks Record's JSON fields (reflection over the
// tags) beside the schema's properties: every Go field is in the schema and
// every schema property is a Go field, at every level; a field the schema
// requires is always written (no omitempty); the schema's type admits the
// Go kind.
func TestSchemaMatchesGoTypes(t *testing.T) {
	s := loadSchema(t)
	var walk func(path string, typ reflect.Type, n map[string]any)
	walk = func(path string, typ reflect.Type, n map[string]any) {
		n = s.resolve(n)
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if typ == timeType || typ.Implements(jsonMarshaler) || typ.Implements(textMarshaler) ||
			reflect.PointerTo(typ).Implements(textMarshaler) {
			if _, ok := n["properties"]; ok {
				t.Errorf("%s: the schema has properties, Go writes %s as a scalar", path, typ)
			}
			return
		}
		switch typ.Kind() {
		case reflect.Struct:
			props, _ := n["properties"].(map[string]any)
			fields := jsonFields(typ)
			for name := range props {
				if _, ok := fields[name]; !ok {
					t.Errorf("%s.%s: in the schema, not a field of %s", path, name, typ)
				}
			}
			var required []any
			required, _ = n["required"].([]any)
			for name, f := range fields {
				p, ok := props[name].(map[string]any)
				if !ok {
					t.Errorf("%s.%s: field of %s, missing from the schema", path, name, typ)
					continue
				}
				if f.omittable && slices.Contains(required, any(name)) {
					t.Errorf("%s.%s: required by the schema, omitted when zero by Go", path, name)
				}
				walk(path+"."+name, f.typ, p)
			}
		case reflect.Map:
			ap, ok := n["additionalProperties"].(map[string]any)
			if !ok {
				t.Errorf("%s: a Go map needs a schema for additionalProperties", path)
				return
			}
			walk(path+".*", typ.Elem(), ap)
		default:
			want := map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean",
				reflect.Int: "integer", reflect.Int64: "integer", reflect.Float64: "number"}[typ.Kind()]
			if want == "" {
				t.Errorf("%s: Go kind %s has no rule in this test", path, typ.Kind())
				return
			}
			if types := fmt.Sprint(n["type"]); n["type"] != nil && !strings.Contains(types, want) {
				t.Errorf("%s: schema type %s, Go writes a %s", path, types, want)
			}
		}
	}
	walk("", reflect.TypeFor[Record](), s.root)
}

// TestSchemaKnobs: the ranges and names the schema repeats are the Go
// constants (the schema is published, so it cannot refer to them).
func TestSchemaKnobs(t *testing.T) {
	s := loadSchema(t)
	at := func(path ...string) map[string]any {
		n := s.root
		for _, p := range path {
			n = s.resolve(n)["properties"].(map[string]any)[p].(map[string]any)
		}
		return n
	}
	for _, c := range []struct {
		path     []string
		min, max float64
	}{
		{[]string{"runtime", "limits", "memory_bytes"}, system.MinMemoryBytes, system.MaxMemoryBytes},
		{[]string{"runtime", "limits", "nano_cpus"}, system.MinNanoCPUs, system.MaxNanoCPUs},
		{[]string{"runtime", "limits", "pids"}, system.MinPids, system.MaxPids},
		{[]string{"runtime", "http", "top_logprobs"}, 0, MaxTopLogprobs},
	} {
		n := at(c.path...)
		if n["minimum"] != c.min || n["maximum"] != c.max {
			t.Errorf("%s: schema range [%v, %v], Go [%v, %v]", strings.Join(c.path, "."), n["minimum"], n["maximum"], c.min, c.max)
		}
	}
	var enum []string
	for _, e := range at("runtime", "protocol")["enum"].([]any) {
		enum = append(enum, e.(string))
	}
	if !slices.Equal(enum, Protocols) {
		t.Errorf("schema's protocols %v, record.Protocols %v", enum, Protocols)
	}
	var reserved []string
	for _, e := range at("runtime", "env_vars")["propertyNames"].(map[string]any)["not"].(map[string]any)["enum"].([]any) {
		reserved = append(reserved, e.(string))
	}
	if !slices.Equal(reserved, ReservedEnv) {
		t.Errorf("schema's reserved env %v, record.ReservedEnv %v", reserved, ReservedEnv)
	}
}
