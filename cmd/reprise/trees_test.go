package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fixtures/gobuild"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/store/storetest"
	"github.com/reprise-dev/reprise/verdict"
)

func buildTreeserver(t *testing.T) string {
	t.Helper()
	return gobuild.Build(t, "./fixtures/treeserver")
}

// mkTree writes files (slash paths) under a new directory.
func mkTree(t *testing.T, files map[string]string) string {
	t.Helper()
	return storetest.WriteTree(t, files)
}

const shard2 = "shards/model-00002-of-00002.safetensors"

// treeParts are the flags of a system with a model directory, a component
// directory and a component file.
func treeParts(t *testing.T) []string {
	model := mkTree(t, map[string]string{
		"config.json": `{"model_type":"tiny"}`, "tokenizer.json": `{"vocab":["a"]}`,
		"shards/model-00001-of-00002.safetensors": "first shard bytes", shard2: "second shard bytes",
	})
	index := mkTree(t, map[string]string{"docs.jsonl": `{"id":1,"text":"refunds take 5 days"}` + "\n", "embeddings/table.bin": "\x01\x02\x03"})
	dir := t.TempDir()
	return []string{"--image", "sha256:" + strings.Repeat("0", 64),
		"--input", writeFile(t, dir, "in.json", `{"question":"how long do refunds take?"}`),
		"--model", model, "--config", writeFile(t, dir, "cfg.json", `{"name":"rag","version":"1"}`),
		"--component", "index=" + index, "--component", "prompt=" + writeFile(t, dir, "prompt.txt", "Answer from the context: {q}")}
}

// TestRecordTreesRoundTrip: record create --model DIR --component index=DIR
// --component prompt=FILE, captured with the process runner, replays
// REPRODUCED with every component given to the system; one byte changed in
// one shard fails verify and replay with exit 4 naming that file.
func TestRecordTreesRoundTrip(t *testing.T) {
	bin := buildTreeserver(t)
	st := filepath.Join(t.TempDir(), "store")
	rec := filepath.Join(t.TempDir(), "rec.json")
	proc := []string{"--runner", "process", "--entrypoint", bin}
	args := append(append([]string{"--store", st, "record", "create", "--capture", "--seed", "42", "--request-id", "req_tree", "-o", rec}, treeParts(t)...), proc...)
	if r := cli(t, "", args...); r.code != 0 {
		t.Fatalf("record create: exit %d: %s", r.code, r.err)
	}
	m := readRecord(t, rec)
	out := m["output"].(map[string]any)
	// The system read the model tree and both components.
	if out["text"] != "model=4 files index=2 files prompt=file" {
		t.Fatalf("the system saw %q", out["text"])
	}
	sys := m["system"].(map[string]any)
	s, err := store.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	modelD, _ := digest.Parse(sys["model"].(map[string]any)["digest"].(string))
	indexD, _ := digest.Parse(sys["components"].(map[string]any)["index"].(string))
	for _, d := range []digest.Digest{modelD, indexD} {
		if b, err := s.ReadAll(context.Background(), d); err != nil || !store.IsTreeManifest(b) {
			t.Fatalf("%s is not a tree in the store: %v", d, err)
		}
	}

	dir := filepath.Join(t.TempDir(), "o")
	r := cli(t, "", append([]string{"--store", st, "replay", rec, "-n", "20", "--output", dir}, proc...)...)
	if r.code != 0 {
		t.Fatalf("replay: exit %d: %s %s", r.code, r.out, r.err)
	}
	var rep replay.Report
	b, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if err := json.Unmarshal(b, &rep); err != nil || rep.Verdict != verdict.Reproduced || rep.Exact == nil || !rep.Exact.ExactMatch {
		t.Fatalf("verdict %v exact %+v (%v)", rep.Verdict, rep.Exact, err)
	}
	if r := cli(t, "", "--store", st, "verify", rec); r.code != 0 {
		t.Fatalf("verify: exit %d: %s", r.code, r.out)
	}

	// One byte of one shard changed in the store.
	mb, _ := s.ReadAll(context.Background(), modelD)
	tree, err := store.ParseTree(mb)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range tree.Files {
		if f.Path == shard2 {
			p := filepath.Join(st, "blobs", "sha256", f.Digest.Hex())
			bb, _ := os.ReadFile(p)
			bb[3] ^= 0x20
			os.Chmod(p, 0o644)
			if err := os.WriteFile(p, bb, 0o444); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := `file "` + shard2 + `"`
	if r := cli(t, "", "--store", st, "verify", rec); r.code != 4 || !strings.Contains(r.out, "system.model.digest") || !strings.Contains(r.out, want) {
		t.Fatalf("verify of a changed shard: exit %d, want 4 naming %s:\n%s%s", r.code, want, r.out, r.err)
	}
	r = cli(t, "", append([]string{"--store", st, "replay", rec, "-n", "20", "--output", filepath.Join(t.TempDir(), "o2")}, proc...)...)
	if r.code != 4 || !strings.Contains(r.out+r.err, want) {
		t.Fatalf("replay of a changed shard: exit %d, want 4 naming %s:\n%s%s", r.code, want, r.out, r.err)
	}
	if r := cli(t, "", "--store", st, "store", "verify"); r.code != 4 || !strings.Contains(r.out, want+" of tree "+modelD.String()) {
		t.Fatalf("store verify: exit %d:\n%s", r.code, r.out)
	}
}

// TestRecordTreesRefused: a link in a model directory, and two component
// names that share a variable, are exit 2 naming the path or the names.
func TestRecordTreesRefused(t *testing.T) {
	st := filepath.Join(t.TempDir(), "store")
	base := []string{"--store", st, "record", "create", "--label", "x", "--hardware-class", "cpu/amd64/x86-64-v3"}
	parts := treeParts(t)
	model := parts[slices.Index(parts, "--model")+1]
	link := filepath.Join(model, "shards", "current.safetensors")
	if err := os.Symlink("model-00001-of-00002.safetensors", link); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, "", append(base, parts...)...); r.code != 2 || !strings.Contains(r.err, link+" is a symbolic link") {
		t.Fatalf("link: exit %d: %s", r.code, r.err)
	}
	os.Remove(link)
	prompt := parts[len(parts)-1][len("prompt="):]
	r := cli(t, "", append(append(base, parts...), "--component", "a-b="+prompt, "--component", "a.b="+prompt)...)
	if r.code != 2 || !strings.Contains(r.err, `"a-b" and "a.b" are both $REPRISE_COMPONENT_A_B`) {
		t.Fatalf("colliding names: exit %d: %s", r.code, r.err)
	}
}
