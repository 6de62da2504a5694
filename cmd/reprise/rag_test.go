package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/fixtures/gobuild"
	"github.com/reprise-dev/reprise/verdict"
)

// ragImage builds the fixture RAG system's image once per test binary.
func ragImage(t *testing.T) string {
	t.Helper()
	cli, _ := fixtureImage(t) // the engine (skip or fail without one), and the leftover check
	return ragBuild.id(t, cli)
}

// buildRAGServer compiles fixtures/ragserver for the process runner.
func buildRAGServer(t *testing.T) string {
	t.Helper()
	return gobuild.Build(t, "./fixtures/ragserver")
}

// onBothRAGRunners runs test as subtests "docker" (the fixture RAG image)
// and "process" (fixtures/ragserver built, with a placeholder image digest):
// test gets the image and the runner flags to add.
func onBothRAGRunners(t *testing.T, test func(t *testing.T, img string, runner ...string)) {
	t.Run("docker", func(t *testing.T) { test(t, ragImage(t)) })
	t.Run("process", func(t *testing.T) {
		test(t, "sha256:"+strings.Repeat("0", 64), "--runner", "process", "--entrypoint", buildRAGServer(t))
	})
}

// ragParts are the record create flags of the fixture RAG system with
// retrieval index index (a file of fixtures/components), as decided: seed
// 42, temperature 0.9, top_p 0.95, 24 tokens.
func ragParts(index string) []string {
	return []string{"--input", fx("inputs", "rag-question-demo.json"),
		"--model", fx("models", "rag-reader-1.0.txt"), "--model-version", "1.0", "--config", fx("configs", "rag-params-1.json"),
		"--component", "index=" + fx("components", index), "--component", "embeddings=" + fx("components", "rag-embeddings-1.txt"),
		"--component", "prompt=" + fx("components", "rag-prompt-1.txt"),
		"--seed", "42", "--temperature", "0.9", "--top-p", "0.95", "--max-tokens", "24"}
}

// TestRAGReindex is the demo's RAG act end to end, for the docker runner
// (the pinned image, each component mounted read-only at
// /reprise/components/<name>) and the process runner ($REPRISE_COMPONENT_*
// naming the session's copies): a decision captured before a re-index
// replays REPRODUCED (exact) under its pinned index; a record that claims
// the new index with the same stored output (the same raw bytes) replays
// DIVERGED (sequentially: the text check decides after 999 replayed texts,
// or the seed probe earlier), its pinned seed answering from the new
// index; system diff names
// component index, with both digests, as the only difference; each report
// lists the components by name and digest.
func TestRAGReindex(t *testing.T) {
	onBothRAGRunners(t, testRAGReindex)
}

func testRAGReindex(t *testing.T, img string, runner ...string) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	S := func(args ...string) []string { return append([]string{"--store", st}, args...) }
	before := filepath.Join(dir, "before.json")
	r := cli(t, "", append(S(append([]string{"record", "create", "--capture", "--image", img, "--request-id", "req_rag_before",
		"--timestamp", "2026-08-02T12:00:00Z", "-o", before}, ragParts("rag-index-1.jsonl")...)...), runner...)...)
	if r.code != 0 {
		t.Fatalf("capture before the re-index: exit %d: %s", r.code, r.err)
	}
	stored := readRecord(t, before)["output"].(map[string]any)
	text, outDigest := stored["text"].(string), stored["digest"].(string)
	if !strings.Contains(text, "30 days") {
		t.Fatalf("captured answer %q does not come from the pinned index (30 days)", text)
	}
	raw := filepath.Join(dir, "answer.raw")
	if r := cli(t, "", S("store", "get", outDigest, "-o", raw)...); r.code != 0 {
		t.Fatalf("store get: %s", r.err)
	}
	claim := filepath.Join(dir, "claims-new-index.json")
	if r := cli(t, "", S(append([]string{"record", "create", "--image", img, "--request-id", "req_rag_claim", "--timestamp", "2026-08-02T12:00:00Z",
		"--text", text, "--output-file", raw, "-o", claim}, ragParts("rag-index-2.jsonl")...)...)...); r.code != 0 {
		t.Fatalf("record create: exit %d: %s", r.code, r.err)
	}
	if got := readRecord(t, claim)["output"].(map[string]any)["digest"]; got != outDigest {
		t.Fatalf("the claim's stored output digest %v, want the captured %s", got, outDigest)
	}

	out := filepath.Join(dir, "rep-before")
	r = cli(t, "", append(S("replay", before, "-n", "60", "--replay-seed", "1", "--output", out), runner...)...)
	rep := readReport(t, out)
	if r.code != 0 || rep.Verdict != verdict.Reproduced || rep.Exact == nil || !rep.Exact.ExactMatch {
		t.Fatalf("replay before the re-index: exit %d, %s\n%s\n%s", r.code, rep.Verdict, r.out, r.err)
	}
	idx1, idx2 := fileDigest(t, fx("components", "rag-index-1.jsonl")).String(), fileDigest(t, fx("components", "rag-index-2.jsonl")).String()
	if rep.Record.Components["index"] != idx1 || len(rep.Record.Components) != 3 {
		t.Errorf("report components %v, want index %s", rep.Record.Components, idx1)
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	if !strings.Contains(string(md), "| component index | `"+idx1+"` |") {
		t.Errorf("report.md does not list component index:\n%s", md)
	}

	out = filepath.Join(dir, "rep-claim")
	r = cli(t, "", append(S("replay", claim, "--max-runs", "2000", "--replay-seed", "1", "--output", out), runner...)...)
	rep = readReport(t, out)
	if r.code != 1 || rep.Verdict != verdict.Diverged || rep.Record.Components["index"] != idx2 {
		t.Fatalf("replay of the claim: exit %d, %s, components %v\n%s\n%s", r.code, rep.Verdict, rep.Record.Components, r.out, r.err)
	}
	if rep.Exact == nil || rep.Exact.Text == nil || !strings.Contains(*rep.Exact.Text, "14 days") {
		t.Errorf("the pinned seed under the new index did not answer from it: %+v", rep.Exact)
	}

	r = cli(t, "", S("system", "diff", before, claim)...)
	want := "component index\n  A  " + idx1 + "\n  B  " + idx2 + "\n1 of 6 parts differs: component index\n"
	if r.code != exitDiverged || !strings.HasSuffix(r.out, want) {
		t.Errorf("system diff: exit %d\n%s%s", r.code, r.out, r.err)
	}
}

// TestRAGIndexDirectory: the index given as a directory of shards (a
// component tree) reaches the system whole: the pinned seed answers as it
// does from the index file, and the record replays REPRODUCED (exact).
func TestRAGIndexDirectory(t *testing.T) {
	onBothRAGRunners(t, testRAGIndexDirectory)
}

func testRAGIndexDirectory(t *testing.T, img string, runner ...string) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	b, err := os.ReadFile(fx("components", "rag-index-1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	shards := filepath.Join(dir, "index")
	os.Mkdir(shards, 0o755)
	// The returns passages, which answer the question, in the second shard.
	for name, data := range map[string]string{"0000.jsonl": strings.Join(lines[2:], ""), "0001.jsonl": strings.Join(lines[:2], "")} {
		if err := os.WriteFile(filepath.Join(shards, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	texts := map[string]string{}
	for name, index := range map[string]string{"file": fx("components", "rag-index-1.jsonl"), "dir": shards} {
		parts := ragParts("rag-index-1.jsonl")
		for i, p := range parts {
			if strings.HasPrefix(p, "index=") {
				parts[i] = "index=" + index
			}
		}
		rec := filepath.Join(dir, name+".json")
		r := cli(t, "", append(append([]string{"--store", st, "record", "create", "--capture", "--image", img, "--request-id", "req_rag_" + name, "-o", rec}, parts...), runner...)...)
		if r.code != 0 {
			t.Fatalf("capture with the index as a %s: exit %d: %s", name, r.code, r.err)
		}
		texts[name] = readRecord(t, rec)["output"].(map[string]any)["text"].(string)
	}
	if texts["dir"] != texts["file"] {
		t.Fatalf("the index as a directory answered %q, as a file %q", texts["dir"], texts["file"])
	}
	out := filepath.Join(dir, "rep")
	r := cli(t, "", append([]string{"--store", st, "replay", filepath.Join(dir, "dir.json"), "-n", "20", "--replay-seed", "1", "--output", out}, runner...)...)
	if rep := readReport(t, out); r.code != 0 || rep.Exact == nil || !rep.Exact.ExactMatch || rep.Record.Components["index"] == fileDigest(t, fx("components", "rag-index-1.jsonl")).String() {
		t.Fatalf("replay with the index as a directory: exit %d, components %v\n%s%s", r.code, rep.Record.Components, r.out, r.err)
	}
}
