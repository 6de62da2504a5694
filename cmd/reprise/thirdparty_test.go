package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

// ollamaEnv makes the fixture text server behave as Ollama v0.17.4 was
// found to (fixtures/textserver/thirdparty): GET /v1/models answers 200
// with no model for 2 s after start, then lists it as NAME:latest; the
// fingerprint is the constant fp_ollama; seeds are cut to 32 bits; the
// served model's digest is on GET /api/tags.
var ollamaEnv = []string{"--env", "REPRISE_FIXTURE_OLLAMA=1", "--env", "REPRISE_FIXTURE_REGISTER_AFTER=2s"}

// TestReplayThirdPartyServer: a decision captured from an Ollama-like
// server (late model, constant fingerprint, 32-bit seeds) records what the
// server said and replays REPRODUCED (exact) with defaults; seed and
// seed + 2^32 are one run; a model loaded lazily (listed early, 404 until
// loaded) is waited for; a server that ignores seed is said to; a server
// that never serves its model ends in exit 5 with a report naming
// --start-timeout.
func TestReplayThirdPartyServer(t *testing.T) {
	img := textImage(t)
	st := filepath.Join(t.TempDir(), "store")
	path := textRecord(t, st, img, "1.0", "req_ollama", append([]string{"--capture", "--seed-bits", "32"}, ollamaEnv...)...)
	b, _ := os.ReadFile(path)
	rec, err := record.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	corpus, _ := os.ReadFile(fx("models", "text-story-1.0.txt"))
	sum := sha256.Sum256(corpus)
	want := record.Server{Model: "model", SystemFingerprint: "fp_ollama", ModelDigest: hex.EncodeToString(sum[:]), ModelDigestFrom: "GET /api/tags"}
	if rec.Runtime.SeedBits != 32 || rec.Runtime.Server == nil || *rec.Runtime.Server != want {
		t.Fatalf("runtime: seed_bits %d, server %+v, want %+v", rec.Runtime.SeedBits, rec.Runtime.Server, want)
	}
	// Seed 42 + 2^32 is the same run as 42: the same output digest.
	wide := textRecord(t, st, img, "1.0", "req_ollama_wide", append([]string{"--capture", "--seed", "4294967338"}, ollamaEnv...)...)
	if w := readRecord(t, wide)["output"].(map[string]any)["digest"]; w != rec.Output.Digest.String() {
		t.Fatalf("seed 42 + 2^32 gave %v, seed 42 %s", w, rec.Output.Digest)
	}

	out := filepath.Join(t.TempDir(), "good")
	if r := cli(t, "", "--store", st, "replay", path, "-n", "30", "--output", out); r.code != 0 {
		t.Fatalf("replay: exit %d\n%s\n%s", r.code, r.out, r.err)
	}
	rep := readReport(t, out)
	if rep.Verdict != verdict.Reproduced || rep.Basis != "exact" || rep.Server == nil || rep.Server.Identity != "model digest" ||
		rep.Server.ConstantFingerprint != "Ollama" || rep.Server.ModelDigestMatch == nil || !*rep.Server.ModelDigestMatch || rep.Record.SeedBits != 32 {
		t.Fatalf("report: %s %q, server %+v", rep.Verdict, rep.Basis, rep.Server)
	}
	notes := strings.Join(rep.Notes, "\n")
	for _, n := range []string{"system_fingerprint is Ollama's constant", "the low 32 bits of a seed"} {
		if !strings.Contains(notes, n) {
			t.Errorf("notes lack %q:\n%s", n, notes)
		}
	}
	runs, err := replay.ReadRuns(filepath.Join(out, "runs.parquet"))
	if err != nil || len(runs) < 2 {
		t.Fatalf("runs.parquet: %d rows, %v", len(runs), err)
	}
	// One output digest: the pinned run's is the record's; equal texts
	// have equal digests although every answer has its own id and time.
	byText := map[string]string{}
	for _, r := range runs {
		if r.Kind == "pinned" && r.OutputDigest != rec.Output.Digest.String() {
			t.Errorf("pinned run digest %s, record %s", r.OutputDigest, rec.Output.Digest)
		}
		if r.Kind == "replay" && (r.Seed < 0 || r.Seed>>32 != 0) {
			t.Errorf("fresh seed %d not cut to 32 bits", r.Seed)
		}
		if d, ok := byText[*r.Text]; ok && d != r.OutputDigest {
			t.Errorf("equal texts, digests %s and %s", d, r.OutputDigest)
		}
		byText[*r.Text] = r.OutputDigest
	}
	t.Run("lazy model", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "lazy")
		r := cli(t, "", "--store", st, "replay", path, "-n", "10", "--output", out, "--env", "REPRISE_FIXTURE_LIST_EARLY=1", "--env", "REPRISE_FIXTURE_REGISTER_AFTER=3s")
		if r.code != 0 {
			t.Fatalf("lazily loaded model: exit %d\n%s", r.code, r.err)
		}
	})
	t.Run("seed ignored", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "ignored")
		r := cli(t, "", "--store", st, "replay", path, "-n", "30", "--output", out, "--env", "REPRISE_FIXTURE_IGNORE_SEED=1", "--concurrency", "4")
		if r.code == 4 || r.code == 5 || r.code == 2 {
			t.Fatalf("exit %d\n%s", r.code, r.err)
		}
		rep := readReport(t, out)
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		if rep.Exact == nil || !rep.Exact.SeedIgnored || !strings.Contains(string(md), "the server does not honour seed (runs with the pinned seed differed)") ||
			rep.Server == nil || rep.Server.Concurrency != 4 || !strings.Contains(strings.Join(rep.Notes, "\n"), "4 requests were in flight at once") {
			t.Fatalf("exact %+v, server %+v\n%s", rep.Exact, rep.Server, md)
		}
	})
	t.Run("never ready", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "never")
		r := cli(t, "", "--store", st, "replay", path, "--output", out, "--start-timeout", "3s", "--env", "REPRISE_FIXTURE_REGISTER_AFTER=1h")
		if r.code != 5 || !strings.Contains(r.err, "--start-timeout") || !strings.Contains(r.err, "with no model") {
			t.Fatalf("exit %d, stderr %s", r.code, r.err)
		}
		rep := readReport(t, out)
		if rep.Verdict != verdict.Failed || !strings.Contains(rep.Error, "--start-timeout") || !strings.Contains(rep.Error, "GET /v1/models answered 200 with no model") {
			t.Fatalf("report: %s %q", rep.Verdict, rep.Error)
		}
	})
}
