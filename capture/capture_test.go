package capture

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/store/storetest"
	"github.com/reprise-dev/reprise/system"
)

func parts(t *testing.T) (Parts, string) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return Parts{
		Input:         Source{Path: write("in.json", `{"income": 1}`)},
		Image:         system.ImageRef{Digest: digest.FromBytes([]byte("image"))},
		Model:         Source{Path: write("loan.safetensors", "not really safetensors")},
		Config:        Source{Path: write("cfg.json", `{"name": "loan-params", "version": 3}`)},
		Components:    map[string]ComponentRef{"router": {File: write("router.txt", "r")}},
		Protocol:      "jsonl-stdio",
		HardwareClass: "cpu/amd64/x86-64-v3",
		Timestamp:     time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC),
	}, dir
}

func openStore(t *testing.T) *store.Layout {
	st, err := store.Init(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// built is a store and the record Build makes there of the parts.
func built(t *testing.T) (*store.Layout, *record.Record) {
	t.Helper()
	st := openStore(t)
	p, _ := parts(t)
	rec, err := Build(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	return st, rec
}

func TestBuildThenManualOutputIsAValidRecord(t *testing.T) {
	ctx := context.Background()
	st, rec := built(t)
	if rec.System.Model.Name != "loan" || rec.System.Model.Version != "unversioned" ||
		rec.System.Config.Name != "loan-params" || rec.System.Config.Version != "3" ||
		rec.Input.MediaType != "application/json" || !strings.HasPrefix(rec.RequestID, "req_") {
		t.Fatalf("record %+v", rec)
	}
	if err := rec.System.Check(); err != nil {
		t.Fatal(err)
	}
	for _, d := range []digest.Digest{rec.Input.Digest, rec.System.Model.Digest, rec.System.Config.Digest, rec.System.Components["router"]} {
		if _, err := st.Verify(context.Background(), d); err != nil {
			t.Fatalf("blob %s: %v", d, err)
		}
	}
	l, s := "approved", 0.87
	if err := ManualOutput(ctx, st, rec, output.Output{Label: &l, Score: &s}, nil, ""); err != nil {
		t.Fatal(err)
	}
	if rec.Output.Digest != digest.FromBytes([]byte(`{"label":"approved","score":0.87}`)) {
		t.Fatalf("output digest %s", rec.Output.Digest)
	}
	b, _ := record.Marshal(rec)
	if _, err := record.Parse(b); err != nil {
		t.Fatalf("built record does not parse: %v\n%s", err, b)
	}
}

func TestBuildErrorsNameThePart(t *testing.T) {
	st := openStore(t)
	p, _ := parts(t)
	p.Model.Path = "/nonexistent/model"
	if _, err := Build(context.Background(), st, p); !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), "model") {
		t.Fatalf("err = %v", err)
	}
	p, dir := parts(t)
	p.Input.Path = dir // the input is a file, never a tree
	if _, err := Build(context.Background(), st, p); !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), "input: "+dir+" is a directory, not a regular file") {
		t.Fatalf("err = %v", err)
	}
}

// TestBuildTrees: the model, config and a component may be directories,
// stored as trees; a link in one, or two component names that share a
// variable, is a bad part (exit 2) that stores no tree.
func TestBuildTrees(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	p, _ := parts(t)
	model := storetest.WriteTree(t, map[string]string{"config.json": "{}"})
	index := storetest.WriteTree(t, map[string]string{"shards/0.bin": "index"})
	p.Model.Path = model
	p.Components["index"] = ComponentRef{File: index}
	rec, err := Build(ctx, st, p)
	if err != nil {
		t.Fatal(err)
	}
	if rec.System.Model.Name != filepath.Base(model) || rec.System.Model.Version != "unversioned" {
		t.Fatalf("model %+v", rec.System.Model)
	}
	for _, d := range []digest.Digest{rec.System.Model.Digest, rec.System.Components["index"]} {
		b, err := st.ReadAll(ctx, d)
		if err != nil || !store.IsTreeManifest(b) {
			t.Fatalf("%s is not a tree: %v %.80s", d, err, b)
		}
	}
	if err := rec.System.Check(); err != nil {
		t.Fatal(err)
	}

	os.Symlink("0.bin", filepath.Join(index, "shards", "link"))
	st2 := openStore(t)
	if _, err := Build(ctx, st2, p); !errors.Is(err, ErrPart) || !strings.Contains(err.Error(), filepath.Join(index, "shards", "link")+" is a symbolic link") {
		t.Fatalf("link in a tree: %v", err)
	}
	os.Remove(filepath.Join(index, "shards", "link"))

	p.Components["a-b"] = ComponentRef{File: index}
	p.Components["a.b"] = ComponentRef{File: index}
	st3 := openStore(t)
	_, err = Build(ctx, st3, p)
	if !errors.Is(err, ErrPart) || !errors.Is(err, launch.ErrComponentNames) || !strings.Contains(err.Error(), `"a-b" and "a.b" are both $REPRISE_COMPONENT_A_B`) {
		t.Fatalf("colliding names: %v", err)
	}
	if l, _ := st3.List(ctx); len(l) != 0 {
		t.Fatalf("colliding names stored %d blobs", len(l))
	}
}

func TestManualOutputRefusesInvalidBeforeStoring(t *testing.T) {
	st := openStore(t)
	before, _ := st.List(context.Background())
	var nan = func() *float64 { x := 0.0; x = x / x; return &x }()
	err := ManualOutput(context.Background(), st, &record.Record{}, output.Output{Score: nan}, strings.NewReader("raw"), "raw")
	if !errors.Is(err, ErrPart) {
		t.Fatalf("err = %v", err)
	}
	if after, _ := st.List(context.Background()); len(after) != len(before) {
		t.Fatalf("a blob was stored: %d -> %d", len(before), len(after))
	}
}

type oneAnswer struct{ raw string }

func (o oneAnswer) Start(ctx context.Context, spec runners.Spec) (runners.Session, error) {
	return &answerSession{o.raw}, nil
}

type answerSession struct{ raw string }

func (a *answerSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	if req.Params.Seed == nil {
		return runners.Response{}, errors.New("no seed sent")
	}
	l := "approved"
	return runners.Response{Output: output.Output{Label: &l}, Raw: []byte(a.raw)}, nil
}
func (a *answerSession) Info() runners.Info          { return runners.Info{Runner: "process"} }
func (a *answerSession) Close(context.Context) error { return nil }

// captureDrawn captures the answer raw of a record without a seed, the
// seed drawn from the bytes rnd.
func captureDrawn(t *testing.T, raw, rnd string) (Store, *record.Record, runners.Info) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	p, _ := parts(t)
	p.EnvOS = "linux"
	rec, err := Build(ctx, st, p)
	if err != nil {
		t.Fatal(err)
	}
	info, err := Capture(ctx, st, rec, session(t, st, rec, oneAnswer{raw}), Options{Rand: strings.NewReader(rnd)})
	if err != nil {
		t.Fatal(err)
	}
	return st, rec, info
}

func TestCaptureRecordsTheAnswerAndADrawnSeed(t *testing.T) {
	raw := `{"label":"approved"}`
	st, rec, info := captureDrawn(t, raw, "\x00\x00\x00\x00\x00\x01\x50\x00") // 42 << 11: seeds are the top 53 bits
	if rec.Params.Seed == nil || *rec.Params.Seed != 42 || *rec.Output.Label != "approved" || rec.Output.Digest != digest.FromBytes([]byte(raw)) {
		t.Fatalf("params %+v output %+v", rec.Params, rec.Output)
	}
	if got, err := st.ReadAll(context.Background(), rec.Output.Digest); err != nil || string(got) != raw {
		t.Fatalf("raw not stored: %q %v", got, err)
	}
	if info.Pinned || !strings.Contains(rec.Runtime.Env.Driver, "not pinned") {
		t.Fatalf("process capture must say the environment was not pinned: %+v", rec.Runtime.Env)
	}
}

// TestBuildStreamsLargeModel: a 300 MiB model (sparse) is streamed and
// hashed, never read whole into memory (issue 8, item 11).
func TestBuildStreamsLargeModel(t *testing.T) {
	p, dir := parts(t)
	big := filepath.Join(dir, "big.safetensors")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	const size = 300 << 20
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	p.Model.Path = big
	st, err := store.Init(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rec, err := Build(context.Background(), st, p)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n, err := st.Verify(context.Background(), rec.System.Model.Digest); err != nil || n != size {
		t.Fatalf("stored model: %d bytes, %v", n, err)
	}
	// TotalAlloc counts every byte allocated, freed or not: reading the
	// model whole would add at least its size.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("Build allocated %d MiB for a %d MiB model", grew>>20, size>>20)
	}
}

// TestCaptureReferenceRuns: --reference-runs K keeps K outputs drawn with
// fresh seeds as a blob the record points at; the record stays valid.
func TestCaptureReferenceRuns(t *testing.T) {
	ctx := context.Background()
	st, rec := built(t)
	seeds := strings.NewReader("\x00\x00\x00\x00\x00\x00\x00\x54" + "\x00\x00\x00\x00\x00\x00\x00\x07")
	if _, err := Capture(ctx, st, rec, session(t, st, rec, oneAnswer{`{"label":"approved"}`}), Options{Rand: seeds, ReferenceRuns: 25}); err != nil {
		t.Fatal(err)
	}
	if rec.Reference == nil || rec.Reference.Runs != 25 {
		t.Fatalf("reference %+v", rec.Reference)
	}
	blob, err := st.ReadAll(ctx, rec.Reference.Digest)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := record.DecodeReference(blob)
	if err != nil || len(ref) != 25 || *ref[0].Label != "approved" {
		t.Fatalf("reference outputs %v: %v", ref, err)
	}
	if probs := rec.Validate(); len(probs) > 0 {
		t.Fatalf("record with a reference: %v", probs)
	}
}

// session starts a session of rec's system through runner, closed when the
// test ends.
func session(t *testing.T, st *store.Layout, rec *record.Record, runner launch.Runner) *launch.Session {
	t.Helper()
	pool := launch.NewPool(st, launch.PoolOptions{Runner: runner})
	t.Cleanup(func() { pool.Close(context.Background()) })
	sess, err := pool.Acquire(context.Background(), launch.FromRecord(rec), launch.Options{HostClass: rec.Runtime.HardwareClass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Release(context.Background(), sess, false) })
	return sess
}

// TestBuildSystemTrees: a system file of a model directory and a config
// directory holds their tree digests and the id a record of the same
// parts holds.
func TestBuildSystemTrees(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	p, _ := parts(t)
	model := storetest.WriteTree(t, map[string]string{"weights.bin": "w"})
	cfg := storetest.WriteTree(t, map[string]string{"generation_config.json": "{}"})
	p.Model.Path, p.Config.Path = model, cfg
	f, err := BuildSystem(ctx, st, p)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Build(ctx, st, p)
	if err != nil {
		t.Fatal(err)
	}
	if f.System.ID != rec.System.ID || f.System.Config.Digest != rec.System.Config.Digest || f.System.Config.Name != filepath.Base(cfg) {
		t.Fatalf("system file %+v, record %+v", f.System, rec.System)
	}
	for _, d := range []digest.Digest{f.System.Model.Digest, f.System.Config.Digest} {
		if b, err := st.ReadAll(ctx, d); err != nil || !store.IsTreeManifest(b) {
			t.Fatalf("%s is not a tree: %v", d, err)
		}
	}
}

// TestDrawnSeedIsExactInJSON: the largest seed a capture can draw is
// 2^53 − 1, which every JSON reader (jq, JavaScript) reads exactly.
func TestDrawnSeedIsExactInJSON(t *testing.T) {
	_, rec, _ := captureDrawn(t, `{"label":"approved"}`, strings.Repeat("\xff", 8))
	if s := rec.Params.Seed; s == nil || *s != 1<<53-1 || int64(float64(*s)) != *s {
		t.Fatalf("seed %v, want 2^53 − 1", s)
	}
}
