package replay

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
)

// TestCompareServer: what the server said at capture and at replay goes
// into report.json and report.md; a constant fingerprint is never shown
// as identifying the model, a digest that changed, seed bits and a
// concurrency above 1 each add a note.
func TestCompareServer(t *testing.T) {
	d1, d2 := strings.Repeat("a", 64), strings.Repeat("b", 64)
	seed := int64(1<<32 + 5)
	rec := &record.Record{Params: record.Record{}.Params.WithSeed(seed), Runtime: record.Runtime{SeedBits: 32,
		Server: &record.Server{Model: "tiny:latest", SystemFingerprint: "fp_ollama", ModelDigest: d1, ModelDigestFrom: "GET /api/tags"}}}
	cases := []struct {
		name     string
		info     runners.Info
		identity string
		notes    []string
		md       []string
	}{
		{"ollama, same model", runners.Info{Fingerprints: []string{"fp_ollama"}, ServedModels: []string{"tiny:latest"}, ModelDigest: d1, ModelDigestFrom: "GET /api/tags", Concurrency: 1},
			"model digest",
			[]string{"system_fingerprint is Ollama's constant, the same for every model: it does not identify the served model; the served model's digest identifies it (GET /api/tags)",
				"the system uses only the low 32 bits of a seed (runtime.seed_bits): a seed and the seed + 2^32 are the same run, and the fresh seeds were cut to 32 bits; the pinned seed 4294967301 runs as 5"},
			[]string{"| served model digest | `" + d1 + "` | `" + d1 + "` |", "system\\_fingerprint (Ollama's constant: not the model)", "- seed bits the system uses: the low 32 bits (a seed and seed + 2^32 are the same run)"}},
		{"ollama, another model, batched", runners.Info{Fingerprints: []string{"fp_ollama"}, ServedModels: []string{"tiny2:latest"}, ModelDigest: d2, ModelDigestFrom: "GET /api/tags", Concurrency: 4},
			"model digest",
			[]string{"the served model's digest differs from the recorded one (record " + d1 + ", replay " + d2 + ", from GET /api/tags)",
				"the server names another model than at capture: record tiny:latest, replay tiny2:latest",
				"4 requests were in flight at once (--concurrency 4): a server that batches concurrent requests may answer differently"},
			[]string{"- requests in flight at once: 4"}},
		{"no digest at replay", runners.Info{Fingerprints: []string{"fp_ollama"}, Concurrency: 1},
			"none",
			[]string{"the server gave no model digest, so nothing it said identifies the served model"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &Report{}
			r.compareServer(rec, c.info)
			if r.Server == nil || r.Server.Identity != c.identity || r.Server.SeedBits != 32 {
				t.Fatalf("server section: %+v", r.Server)
			}
			all := strings.Join(r.Notes, "\n")
			for _, n := range c.notes {
				if !strings.Contains(all, n) {
					t.Errorf("notes lack %q:\n%s", n, all)
				}
			}
			if strings.Contains(all, "digest differs") != (c.info.ModelDigest == d2) {
				t.Errorf("digest note wrong:\n%s", all)
			}
			md := r.Markdown()
			for _, m := range c.md {
				if !strings.Contains(md, m) {
					t.Errorf("report.md lacks %q:\n%s", m, md)
				}
			}
			b, _ := json.Marshal(r)
			if !strings.Contains(string(b), `"server":{"recorded":{"model":"tiny:latest","system_fingerprint":"fp_ollama"`) {
				t.Errorf("report.json: %s", b)
			}
		})
	}
	// A stdio system with nothing to say gets no section and no note.
	r := &Report{}
	r.compareServer(&record.Record{}, runners.Info{Runner: "docker"})
	if r.Server != nil || len(r.Notes) != 0 {
		t.Errorf("nothing to say: %+v, %v", r.Server, r.Notes)
	}
	if got := CutSeeds([]int64{1<<32 + 5, 7, 1<<62 + 1<<31}, 32); got[0] != 5 || got[1] != 7 || got[2] != 1<<31 {
		t.Errorf("CutSeeds: %v", got)
	}
}
