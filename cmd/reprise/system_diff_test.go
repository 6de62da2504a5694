package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
)

// ragRecord makes a record of the fixture RAG system whose index component
// is index (a file under fixtures/components), without running it.
func ragRecord(t *testing.T, st, dir, name, index string, extra ...string) string {
	t.Helper()
	out := filepath.Join(dir, name+".json")
	args := append([]string{"--store", st, "record", "create", "--image", testImage, "--input", fx("inputs", "rag-question-demo.json"),
		"--model", fx("models", "rag-reader-1.0.txt"), "--model-version", "1.0", "--config", fx("configs", "rag-params-1.json"),
		"--component", "index=" + fx("components", index), "--component", "embeddings=" + fx("components", "rag-embeddings-1.txt"),
		"--component", "prompt=" + fx("components", "rag-prompt-1.txt"),
		"--text", "an unused item can be returned within 30 days for a full refund .", "--seed", "42",
		"--hardware-class", "cpu/amd64/x86-64-v3", "--timestamp", "2026-08-02T12:00:00Z", "--request-id", "req_" + name, "-o", out}, extra...)
	if r := cli(t, "", args...); r.code != 0 {
		t.Fatalf("record create: exit %d: %s", r.code, r.err)
	}
	return out
}

// TestGoldenSystemDiff: system diff names the component that differs
// between the systems of two records (exit 1), finds none between a
// record and itself (exit 0), and refuses what is not a system.
func TestGoldenSystemDiff(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	before := ragRecord(t, st, dir, "rag_before", "rag-index-1.jsonl")
	after := ragRecord(t, st, dir, "rag_after", "rag-index-2.jsonl")
	tampered := filepath.Join(dir, "tampered.json")
	b, _ := os.ReadFile(after)
	var rec map[string]any
	json.Unmarshal(b, &rec)
	rec["system"].(map[string]any)["components"].(map[string]any)["index"] = digest.FromBytes([]byte("other")).String()
	b, _ = json.Marshal(rec)
	if err := os.WriteFile(tampered, b, 0o644); err != nil {
		t.Fatal(err)
	}
	norm := func(s string) string { return strings.ReplaceAll(s, dir, "$TMP") }
	S := func(args ...string) []string { return append([]string{"--store", st, "system", "diff"}, args...) }
	unknown := digest.FromBytes([]byte("no such system")).String()
	for _, c := range []goldenCase{
		{"system-diff-index", S(before, after), exitDiverged},
		{"system-diff-same", S(before, before), exitOK},
		{"system-diff-json", S(before, after, "--format", "json"), exitDiverged},
		{"system-diff-unknown-id", S(before, unknown), exitUsage},
		{"system-diff-tampered", S(before, tampered), exitIntegrity},
		{"system-diff-not-a-system", S(before, fx("inputs", "rag-question-demo.json")), exitUsage},
		{"system-diff-one-arg", S(before), exitUsage},
	} {
		runGoldenCase(t, c, norm)
	}
	r := cli(t, "", S(before, after, "--format", "json")...)
	var res systemDiffResult
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatal(err)
	}
	idx1, idx2 := fileDigest(t, fx("components", "rag-index-1.jsonl")), fileDigest(t, fx("components", "rag-index-2.jsonl"))
	if res.Same || len(res.Changes) != 1 || res.Changes[0].Label() != "component index" || *res.Changes[0].A != idx1 || *res.Changes[0].B != idx2 {
		t.Errorf("json: %+v", res)
	}
}

func fileDigest(t *testing.T, path string) digest.Digest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return digest.FromBytes(b)
}

// TestSystemDiffStoredID: a system id the store knows from an eval run
// resolves to that run's system, which differs from the other model
// version's system file in its model only.
func TestSystemDiffStoredID(t *testing.T) {
	bin := buildLoanserver(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	suite := strings.TrimSpace(cli(t, "", "--store", st, "evals", "pack", fx("suites", "loan-v1")).out)
	sys := map[string]string{}
	for _, v := range []string{"2.4.1", "2.4.2"} {
		sys[v] = filepath.Join(dir, "system-"+v+".json")
		if r := cli(t, "", "--store", st, "system", "create", "--image", "sha256:"+strings.Repeat("0", 64),
			"--model", fx("models", "loan-approver-"+v+".safetensors"), "--config", fx("configs", "loan-params-3.json"), "-o", sys[v]); r.code != 0 {
			t.Fatalf("system create: %s", r.err)
		}
	}
	if r := cli(t, "", "--store", st, "evals", "run", "--suite", suite, "--system", sys["2.4.1"], "-k", "1", "--runner", "process", "--entrypoint", bin); r.code != 0 {
		t.Fatalf("evals run: exit %d: %s", r.code, r.err)
	}
	t241, err := capture.LoadTarget(sys["2.4.1"])
	if err != nil {
		t.Fatal(err)
	}
	id := t241.System.ID.String()
	r := cli(t, "", "--store", st, "system", "diff", id, sys["2.4.2"])
	if r.code != exitDiverged || !strings.Contains(r.out, "A  "+id+"  "+id+"\n") || !strings.HasSuffix(r.out, "1 of 3 parts differs: model\n") {
		t.Errorf("diff by id: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := cli(t, "", "--store", st, "system", "diff", id, sys["2.4.1"]); r.code != exitOK || !strings.Contains(r.out, "the same composite version") {
		t.Errorf("same system by id and file: exit %d\n%s%s", r.code, r.out, r.err)
	}
	if r := cli(t, "", "--store", filepath.Join(dir, "nostore"), "system", "diff", id, sys["2.4.1"]); r.code != exitUsage {
		t.Errorf("no store: exit %d: %s", r.code, r.err)
	}
}
