package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/output"
)

func validBytes(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate decodes the valid record into a generic map, applies f, re-encodes.
func mutate(t *testing.T, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(validBytes(t), &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutated is a case's data: valid.json changed by f (see mutate).
func mutated(f func(m map[string]any)) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return mutate(t, f) }
}

// mutateRaw replaces old (which must occur) by new in the valid record's bytes.
func mutateRaw(t *testing.T, old, new string) []byte {
	t.Helper()
	b := validBytes(t)
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("valid.json lacks %s", old)
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func obj(m map[string]any, path ...string) map[string]any {
	for _, p := range path {
		m = m[p].(map[string]any)
	}
	return m
}

func TestParseValid(t *testing.T) {
	r, err := Parse(validBytes(t))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if r.RequestID != "req_abc123xyz" || *r.Params.Seed != 42 || *r.Output.Label != "approved" || r.Output.Text != nil {
		t.Fatalf("decoded %+v", r)
	}
	if r.System.Components["router"].String() != "sha256:"+strings.Repeat("d", 64) {
		t.Fatalf("components: %v", r.System.Components)
	}
	// Round trip: Marshal then Parse gives the same record.
	b, err := Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := Parse(b)
	if err != nil {
		t.Fatalf("re-parse: %v\n%s", err, b)
	}
	b2, _ := Marshal(r2)
	if !bytes.Equal(b, b2) {
		t.Fatalf("round trip differs:\n%s\n%s", b, b2)
	}
}

func TestParseProblems(t *testing.T) {
	cases := []struct {
		name  string
		data  func(t *testing.T) []byte
		field string
		msg   string
		kind  error
	}{
		{"invalid JSON", func(t *testing.T) []byte { return []byte(`{"schema": "reprise/decision/v1",`) }, "", "invalid JSON", ErrMalformed},
		{"trailing garbage", func(t *testing.T) []byte { return append(validBytes(t), []byte("{}")...) }, "", "more than one value", ErrMalformed},
		{"not an object", func(t *testing.T) []byte { return []byte(`[1,2]`) }, "", "JSON object", ErrMalformed},
		{"unknown top-level field", mutated(func(m map[string]any) { m["extra"] = 1 }), "extra", "unknown field", ErrMalformed},
		{"unknown nested field", mutated(func(m map[string]any) { obj(m, "system", "model")["sha"] = "x" }), "system.model.sha", "unknown field", ErrMalformed},
		{"missing request_id", mutated(func(m map[string]any) { delete(m, "request_id") }), "request_id", "required field missing", ErrMalformed},
		{"missing model digest", mutated(func(m map[string]any) { delete(obj(m, "system", "model"), "digest") }), "system.model.digest", "required field missing", ErrMalformed},
		{"null system", mutated(func(m map[string]any) { m["system"] = nil }), "system", "must not be null", ErrMalformed},
		{"bad model digest", mutated(func(m map[string]any) { obj(m, "system", "model")["digest"] = "sha256:1234" }), "system.model.digest", "not a sha256 digest", ErrMalformed},
		{"uppercase input digest", mutated(func(m map[string]any) { obj(m, "input")["digest"] = "sha256:" + strings.Repeat("A", 64) }), "input.digest", "not a sha256 digest", ErrMalformed},
		{"wrong type", mutated(func(m map[string]any) { obj(m, "params")["seed"] = "42" }), "params.seed", "want int64", ErrMalformed},
		{"bad schema", mutated(func(m map[string]any) { m["schema"] = "reprise/decision/v0" }), "schema", "unsupported schema", ErrMalformed},
		{"bad timestamp", mutated(func(m map[string]any) { m["timestamp"] = "yesterday" }), "timestamp", "RFC 3339", ErrMalformed},
		{"bad request id", mutated(func(m map[string]any) { m["request_id"] = "../etc" }), "request_id", "must be", ErrMalformed},
		{"bad protocol", mutated(func(m map[string]any) { obj(m, "runtime")["protocol"] = "grpc" }), "runtime.protocol", "unknown protocol", ErrMalformed},
		{"bad hardware class", mutated(func(m map[string]any) { obj(m, "runtime")["hardware_class"] = "fast" }), "runtime.hardware_class", "cpu/<arch>/<level>", ErrMalformed},
		{"empty output", mutated(func(m map[string]any) { o := obj(m, "output"); o["label"], o["score"] = nil, nil }), "output", "at least one of", ErrMalformed},
		{"bad temperature", mutated(func(m map[string]any) { obj(m, "params")["temperature"] = -1 }), "params.temperature", "between", ErrMalformed},
		{"garbage image", mutated(func(m map[string]any) { obj(m, "system")["image"] = "Not A Ref" }), "system.image", "not a valid image reference", ErrMalformed},
		{"image by tag", mutated(func(m map[string]any) { obj(m, "system")["image"] = "registry.example.com/inference/loan:2.4.1" }), "system.image", "pinned by tag", ErrIntegrity},
		{"duplicate top-level key", func(t *testing.T) []byte {
			return bytes.Replace(validBytes(t), []byte(`"request_id"`), []byte(`"request_id": "req_other", "request_id"`), 1)
		}, "request_id", "duplicate key", ErrMalformed},
		{"duplicate nested key", func(t *testing.T) []byte {
			return bytes.Replace(validBytes(t), []byte(`"label"`), []byte(`"label": "denied", "label"`), 1)
		}, "output.label", "duplicate key", ErrMalformed},
		{"duplicate key in a free-key map", func(t *testing.T) []byte {
			return bytes.Replace(validBytes(t), []byte(`"router"`), []byte(`"router": "sha256:`+strings.Repeat("e", 64)+`", "router"`), 1)
		}, "system.components.router", "duplicate key", ErrMalformed},
		{"invalid UTF-8 label", func(t *testing.T) []byte {
			return mutateRaw(t, `"label": "approved"`, "\"label\": \"appr\xffoved\"")
		}, "output.label", "not valid UTF-8", ErrMalformed},
		{"lone surrogate label", func(t *testing.T) []byte {
			return mutateRaw(t, `"label": "approved"`, `"label": "appr\udc00oved"`)
		}, "output.label", "not valid UTF-8", ErrMalformed},
		{"invalid UTF-8 nested string", func(t *testing.T) []byte {
			return mutateRaw(t, `"name": "loan-approver"`, "\"name\": \"loan\xc3-approver\"")
		}, "system.model.name", "not valid UTF-8", ErrMalformed},
		{"reserved env var", mutated(func(m map[string]any) { obj(m, "runtime")["env_vars"] = map[string]any{"REPRISE_MODEL": "/etc/passwd"} }), "runtime.env_vars.REPRISE_MODEL", "reserved", ErrMalformed},
		{"limits out of range", mutated(func(m map[string]any) { obj(m, "runtime")["limits"] = map[string]any{"pids": 9999999999} }), "runtime.limits.pids", "between", ErrMalformed},
		{"unknown limit", mutated(func(m map[string]any) { obj(m, "runtime")["limits"] = map[string]any{"gpus": 1} }), "runtime.limits.gpus", "unknown field", ErrMalformed},
		{"system id mismatch", mutated(func(m map[string]any) { obj(m, "system", "config")["digest"] = "sha256:" + strings.Repeat("9", 64) }), "system.id", "does not match", ErrIntegrity},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, err := Parse(c.data(t))
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, c.kind) {
				t.Fatalf("err %v does not wrap %v", err, c.kind)
			}
			var re *Error
			if !errors.As(err, &re) {
				t.Fatalf("err %T is not *Error", err)
			}
			found := false
			for _, p := range re.Problems {
				if p.Field == c.field && strings.Contains(p.Message, c.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no problem %s: …%s… in %v", c.field, c.msg, re.Problems)
			}
			if (c.kind == ErrIntegrity) != (rec != nil) {
				t.Fatalf("record returned = %v for kind %v", rec != nil, c.kind)
			}
		})
	}
}

// TestSchemaFileMatchesDecoder keeps schema/decision-v1.schema.json and the
// decoder's shape in step: same properties and required fields at every level.
func TestSchemaFileMatchesDecoder(t *testing.T) {
	schema := loadSchema(t)
	defs := schema.defs
	var walk func(path string, s map[string]any, sh *shape)
	walk = func(path string, s map[string]any, sh *shape) {
		if ref, ok := s["$ref"].(string); ok {
			s = defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		}
		if sh.anyKeys {
			if _, ok := s["additionalProperties"]; !ok {
				t.Errorf("%s: schema lacks additionalProperties for a free-key map", path)
			}
			return
		}
		if ap, ok := s["additionalProperties"].(bool); !ok || ap {
			t.Errorf("%s: schema must set additionalProperties: false", path)
		}
		props, _ := s["properties"].(map[string]any)
		if len(props) != len(sh.fields) {
			t.Errorf("%s: schema has %d properties, decoder %d", path, len(props), len(sh.fields))
		}
		req := map[string]bool{}
		for _, r := range s["required"].([]any) {
			req[r.(string)] = true
		}
		for name, f := range sh.fields {
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s.%s: missing from schema", path, name)
				continue
			}
			if req[name] != f.required {
				t.Errorf("%s.%s: required %v in schema, %v in decoder", path, name, req[name], f.required)
			}
			if f.obj != nil {
				walk(path+"."+name, p, f.obj)
			}
		}
	}
	walk("", schema.root, recordShape)
}

// TestRuntimeEnvVarsAndLimits: the optional runtime.env_vars and
// runtime.limits round-trip, and a record without them (every record made
// before they existed) stays valid.
func TestRuntimeEnvVarsAndLimits(t *testing.T) {
	if _, err := Parse(validBytes(t)); err != nil {
		t.Fatalf("old record: %v", err)
	}
	b := mutate(t, func(m map[string]any) {
		obj(m, "runtime")["env_vars"] = map[string]any{"REPRISE_FIXTURE_NOISE": "1e-9", "OMP_NUM_THREADS": "1"}
		obj(m, "runtime")["limits"] = map[string]any{"memory_bytes": 536870912, "nano_cpus": 1000000000, "pids": 64}
	})
	r, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if r.Runtime.EnvVars["OMP_NUM_THREADS"] != "1" || r.Runtime.Limits == nil || r.Runtime.Limits.Pids != 64 || r.Runtime.Limits.MemoryBytes != 512<<20 {
		t.Fatalf("runtime %+v", r.Runtime)
	}
	out, _ := Marshal(r)
	if r2, err := Parse(out); err != nil || r2.Runtime.Limits.NanoCPUs != 1e9 {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
}

// TestReference: the optional reference field round-trips, a record without
// it stays valid, and bad values are problems naming the field.
func TestReference(t *testing.T) {
	d := "sha256:" + strings.Repeat("ab", 32)
	r, err := Parse(mutate(t, func(m map[string]any) { m["reference"] = map[string]any{"digest": d, "runs": 200} }))
	if err != nil {
		t.Fatal(err)
	}
	if r.Reference == nil || r.Reference.Runs != 200 || r.Reference.Digest.String() != d {
		t.Fatalf("reference %+v", r.Reference)
	}
	out, _ := Marshal(r)
	if r2, err := Parse(out); err != nil || *r2.Reference != *r.Reference {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
	for _, c := range []struct {
		ref   any
		field string
	}{
		{map[string]any{"digest": d, "runs": 0}, "reference.runs"},
		{map[string]any{"digest": "md5:x", "runs": 3}, "reference.digest"},
		{map[string]any{"digest": d}, "reference.runs"},
		{map[string]any{"digest": d, "runs": 3, "extra": 1}, "reference.extra"},
	} {
		_, err := Parse(mutate(t, func(m map[string]any) { m["reference"] = c.ref }))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%v: error %v does not name %s", c.ref, err, c.field)
		}
	}
}

func TestReferenceBlob(t *testing.T) {
	l, s := "approved", 0.5
	outs := []output.Output{{Label: &l, Score: &s}, {Label: &l}}
	got, err := DecodeReference(EncodeReference(outs))
	if err != nil || len(got) != 2 || *got[0].Score != 0.5 || got[1].Score != nil {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := DecodeReference([]byte("{\"label\":\"a\"}\n{\"nope\":1}\n")); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("bad line: %v", err)
	}
}
