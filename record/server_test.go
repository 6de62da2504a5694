package record

import (
	"strings"
	"testing"
)

// TestRuntimeServer: runtime.seed_bits and runtime.server round-trip, a
// record without them (every record written before) stays valid and
// writes neither, and bad values are problems naming the field.
func TestRuntimeServer(t *testing.T) {
	old, err := Parse(validBytes(t))
	if err != nil {
		t.Fatalf("old record: %v", err)
	}
	if out, _ := Marshal(old); strings.Contains(string(out), "seed_bits") || strings.Contains(string(out), `"server"`) {
		t.Fatalf("an old record gained fields:\n%s", out)
	}
	digest := strings.Repeat("ab", 32)
	b := mutate(t, func(m map[string]any) {
		obj(m, "runtime")["seed_bits"] = 32
		obj(m, "runtime")["server"] = map[string]any{"model": "tiny:latest", "system_fingerprint": "fp_ollama", "model_digest": digest, "model_digest_from": "GET /api/tags"}
	})
	r, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Server{Model: "tiny:latest", SystemFingerprint: "fp_ollama", ModelDigest: digest, ModelDigestFrom: "GET /api/tags"}
	if r.Runtime.SeedBits != 32 || r.Runtime.Server == nil || *r.Runtime.Server != want {
		t.Fatalf("runtime %+v", r.Runtime)
	}
	out, _ := Marshal(r)
	if r2, err := Parse(out); err != nil || *r2.Runtime.Server != want || r2.Runtime.SeedBits != 32 {
		t.Fatalf("round trip: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name  string
		f     func(m map[string]any)
		field string
	}{
		{"seed bits 65", func(m map[string]any) { obj(m, "runtime")["seed_bits"] = 65 }, "runtime.seed_bits"},
		{"seed bits -1", func(m map[string]any) { obj(m, "runtime")["seed_bits"] = -1 }, "runtime.seed_bits"},
		{"control character", func(m map[string]any) {
			obj(m, "runtime")["server"] = map[string]any{"system_fingerprint": "fp\x1b[31m"}
		}, "runtime.server.system_fingerprint"},
		{"too long", func(m map[string]any) {
			obj(m, "runtime")["server"] = map[string]any{"model_digest": strings.Repeat("a", 201)}
		}, "runtime.server.model_digest"},
		{"unknown field", func(m map[string]any) {
			obj(m, "runtime")["server"] = map[string]any{"fingerprint": "x"}
		}, "runtime.server.fingerprint"},
	} {
		_, err := Parse(mutate(t, c.f))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want a problem naming %s", c.name, err, c.field)
		}
	}
}
