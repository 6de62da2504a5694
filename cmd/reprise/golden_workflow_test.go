package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/store"
)

// goldenNorm rewrites the parts of an output that differ from run to run:
// the test's temporary folders ($TMP, $LOANSERVER), this host's hardware
// class ($HWCLASS), the digests of eval runs (their manifests hold the time
// they were stored), named RUN1, RUN2… in the order they were stored, and
// the ETA of progress lines. Replacements keep a digest's length, so tables
// stay aligned as the user sees them.
type goldenNorm struct {
	store string
	pairs []string // old, new
	runs  map[digest.Digest]bool
}

func newGoldenNorm(st string) *goldenNorm {
	return &goldenNorm{store: st, runs: map[digest.Digest]bool{}}
}

// replace adds a literal replacement, tried before those added later.
func (n *goldenNorm) replace(old, new string) { n.pairs = append(n.pairs, old, new) }

var etaRE = regexp.MustCompile(`ETA [0-9hms.µ?]+`)

func (n *goldenNorm) norm(s string) string {
	if st, err := store.Open(n.store); err == nil {
		h, _ := evals.History(context.Background(), st, digest.Digest{}, digest.Digest{})
		for _, e := range h {
			if n.runs[e.Run] {
				continue
			}
			n.runs[e.Run] = true
			label := fmt.Sprintf("RUN%d", len(n.runs))
			full := "sha256:" + label + strings.Repeat("_", len(e.Run.Hex())-len(label))
			// Full digests first: a short one is a prefix of its full one.
			n.pairs = append([]string{e.Run.String(), full}, n.pairs...)
			n.replace(short(e.Run), full[:len(short(e.Run))])
		}
	}
	return etaRE.ReplaceAllString(strings.NewReplacer(n.pairs...).Replace(s), "ETA <eta>")
}

// goldenFlow runs golden cases one after another on one store; each case
// may use what the ones before it stored.
type goldenFlow struct {
	t    *testing.T
	n    *goldenNorm
	seen map[string]bool
}

// run runs reprise args as golden case name and returns what it printed.
func (f *goldenFlow) run(name string, wantCode int, args ...string) cliResult {
	f.t.Helper()
	if f.seen[name] {
		f.t.Fatalf("golden case %q run twice", name)
	}
	f.seen[name] = true
	return runGoldenCase(f.t, goldenCase{name, args, wantCode}, f.n.norm)
}

// must runs reprise args outside the golden files and returns its stdout
// without the final newline.
func (f *goldenFlow) must(args ...string) string {
	f.t.Helper()
	r := cli(f.t, "", args...)
	if r.code != 0 {
		f.t.Fatalf("reprise %s: exit %d: %s", strings.Join(args, " "), r.code, r.err)
	}
	return strings.TrimSpace(r.out)
}

// TestGoldenWorkflow holds a real invocation of the verbs that need a store
// with blobs, suites, records and runs, or a running system, to golden
// files. The systems are the fixture loan server under the process runner,
// so no Docker is needed; eval-run digests, temporary paths and this host's
// hardware class are normalized (goldenNorm).
func TestGoldenWorkflow(t *testing.T) {
	bin := buildLoanserver(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	hw := hwclass.Detect(context.Background())
	n := newGoldenNorm(st)
	n.replace(dir, "$TMP")
	n.replace(bin, "$LOANSERVER")
	n.replace(hw, "$HWCLASS")
	host := hwclass.Host(context.Background())
	n.replace(host.OS+" "+host.Kernel, "$HOST_OS") // record create's runtime.env.os
	f := &goldenFlow{t: t, n: n, seen: map[string]bool{}}
	S := func(args ...string) []string { return append([]string{"--store", st}, args...) }
	proc := []string{"--runner", "process", "--entrypoint", bin}
	img := "sha256:" + strings.Repeat("0", 64) // not used by the process runner
	model := func(v string) string { return fx("models", "loan-approver-"+v+".safetensors") }
	config := fx("configs", "loan-params-3.json")

	// The store's own verbs, before any run (whose blobs hold times).
	f.run("store-put-fixtures", 0, S("store", "put", model("2.4.1"), config, fx("inputs", "application-demo.json"))...)
	cfgDigest := f.must(S("store", "put", config)...)
	f.run("store-get-ok", 0, S("store", "get", cfgDigest)...)
	f.run("store-ls-ok", 0, S("store", "ls")...)
	f.run("store-verify-ok", 0, S("store", "verify")...)

	// Decision records. The golden one has a fixed hardware class and
	// time; the one replayed below is this host's.
	f.run("record-create-ok", 0, S("record", "create", "--input", fx("inputs", "application-demo.json"), "--image", testImage,
		"--model", model("2.4.1"), "--config", config, "--label", "approved", "--score", "0.87", "--seed", "42",
		"--request-id", "req_golden", "--hardware-class", "gpu/nvidia/a100-80gb", "--timestamp", "2026-08-02T10:00:00Z")...)
	rec := filepath.Join(dir, "rec.json")
	f.must(append(S("record", "create", "--capture", "--image", img, "--input", fx("inputs", "application-demo.json"),
		"--model", model("2.4.1"), "--config", config, "--seed", "42", "--request-id", "req_replay", "-o", rec), proc...)...)
	f.run("verify-ok", 0, S("verify", rec)...)
	f.run("replay-process", 0, append(S("replay", rec, "-n", "50", "--output", filepath.Join(dir, "replay")), proc...)...)

	// Datasets and suites.
	train := f.run("data-pack-ok", 0, S("data", "pack", fx("train", "loan-train.jsonl"))...)
	f.run("evals-pack-ok", 0, S("evals", "pack", fx("suites", "loan-v1"))...)
	v1 := f.must(S("evals", "pack", fx("suites", "loan-v1"))...)
	v2 := f.must(S("evals", "pack", fx("suites", "loan-v2"))...)
	f.run("evals-ls-ok", 0, S("evals", "ls")...)
	f.run("evals-leakage-flagged", 1, S("evals", "leakage", "--suite", v1, "--train", strings.TrimSpace(train.out))...)

	// Systems and eval runs.
	f.run("system-create-ok", 0, S("system", "create", "--image", img, "--model", model("2.4.1"), "--config", config,
		"--hardware-class", "gpu/nvidia/a100-80gb")...)
	sys := map[string]string{}
	for _, v := range []string{"2.4.1", "2.4.2"} {
		sys[v] = filepath.Join(dir, "system-"+v+".json")
		f.must(S("system", "create", "--image", img, "--model", model(v), "--config", config, "-o", sys[v])...)
	}
	f.run("evals-run-ok", 0, append(S("evals", "run", "--suite", v1, "--system", sys["2.4.1"], "-k", "20"), proc...)...)
	f.must(append(S("evals", "run", "--suite", v1, "--system", sys["2.4.2"], "-k", "20"), proc...)...)
	h, err := evals.History(context.Background(), openStoreAt(t, st), digest.Digest{}, digest.Digest{})
	if err != nil || len(h) != 2 {
		t.Fatalf("history: %d runs, %v", len(h), err)
	}
	a, b := h[0].Run.String(), h[1].Run.String()
	f.run("evals-history-suite", 0, S("evals", "history", "--suite", v1)...)
	// A unique prefix of a digest (12 hex digits) names it, as reports
	// print it.
	f.run("evals-show-prefix", 0, S("evals", "show", v1[:len("sha256:")+12])...)
	f.run("evals-compare-ok", 0, S("evals", "compare", a, b)...)
	f.run("evals-rescore-ok", 0, append(S("evals", "rescore", "--suite", v2, "--results", a), proc...)...)

	// A record pinning suite v1: its system is 2.4.1's, whose run a is the
	// stored run evals check replays.
	evRec := filepath.Join(dir, "ev.json")
	f.must(S("record", "create", "--image", img, "--input", fx("inputs", "application-demo.json"), "--model", model("2.4.1"),
		"--config", config, "--label", "approved", "--eval-suite", v1, "--request-id", "req_ev", "-o", evRec)...)
	f.run("evals-check-ok", 0, append(S("evals", "check", evRec, "--eval-margin", "0.1"), proc...)...)

	// Decision logs: record import of a log with unresolvable rows, and a
	// night with one planted record, whole and in two shards merged.
	idir, ist, ilog, imap := importFixture(t)
	n.replace(idir, "$IMPORT")
	f.run("record-import-ok", 0, "--store", ist, "record", "import", "--log", ilog, "--versions", imap, "-o", filepath.Join(idir, "records.parquet"))
	// An import whose filter or log leaves no row is exit 3, one that
	// resolves no row exit 2: none is a success.
	f.run("record-import-none-selected", 3, "--store", ist, "record", "import", "--log", ilog, "--versions", imap, "--where", `model.version == "9.9.9"`,
		"-o", filepath.Join(idir, "none.parquet"))
	nomap := filepath.Join(idir, "nomap.json")
	if err := os.WriteFile(nomap, []byte(`{"models": {}, "images": {}, "configs": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	f.run("record-import-none-resolved", 2, "--store", ist, "record", "import", "--log", ilog, "--versions", nomap, "-o", filepath.Join(idir, "none.parquet"))
	empty := filepath.Join(idir, "empty.jsonl")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f.run("record-import-nothing", 3, "--store", ist, "record", "import", "--log", empty, "--versions", imap, "-o", filepath.Join(idir, "empty.parquet"), "--format", "json")
	nlog := goldenNightLog(t, st, bin, "")
	if b, err := os.ReadFile(nlog); err == nil { // the log holds capture times
		n.replace(digest.FromBytes(b).String()+fmt.Sprintf(", %d bytes", len(b)), "$LOG_DIGEST, $SIZE bytes")
		n.replace(nlog, "$NLOG")
	}
	night := func(out string, extra ...string) []string {
		return append(append(S("nightly", "--log", nlog, "-n", "50", "--min-frequency", "0.2", "--output", filepath.Join(dir, out)), proc...), extra...)
	}
	dlog := goldenNightLog(t, st, bin, "cpu/amd64/x86-64-v3")
	if b, err := os.ReadFile(dlog); err == nil {
		n.replace(digest.FromBytes(b).String()+fmt.Sprintf(", %d bytes", len(b)), "$DLOG_DIGEST, $SIZE bytes")
		n.replace(dlog, "$DLOG")
	}
	f.run("nightly-dry-run", 0, append(append(S("nightly", "--log", dlog, "-n", "50", "--min-frequency", "0.2", "--output", filepath.Join(dir, "night")), proc...), "--dry-run", "--shard", "0/2")...)
	f.run("nightly-planted", 1, night("night")...)
	for i := range 2 {
		cli(t, "", night(fmt.Sprintf("shard%d", i), "--shard", fmt.Sprintf("%d/2", i))...)
	}
	merged := f.run("nightly-merge-ok", 1, S("nightly", "merge", filepath.Join(dir, "shard0"), filepath.Join(dir, "shard1"), "--output", filepath.Join(dir, "merged"))...)
	whole, _ := os.ReadFile(filepath.Join("testdata", "nightly-planted.stdout"))
	if got := strings.ReplaceAll(n.norm(merged.out), "$TMP/merged", "$TMP/night"); got != string(whole) {
		t.Errorf("the merged shards print\n%s\nthe whole night\n%s", got, whole)
	}
}

// TestGoldenHost holds env and clean to golden files on a host without a
// Docker engine (DOCKER_HOST names a socket that does not exist) and, for
// clean, a temporary folder holding one session folder of a dead process.
// env's values are this host's, normalized to $HWCLASS, $OS and so on.
func TestGoldenHost(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("DOCKER_HOST", "unix://"+filepath.Join(tmp, "no-docker.sock"))
	h := hwclass.Host(context.Background())
	n := newGoldenNorm(filepath.Join(tmp, "no-store"))
	for _, kv := range [][2]string{
		{"hardware_class: " + h.HardwareClass, "$HWCLASS"}, {"os:             " + h.OS, "$OS"},
		{"kernel:         " + h.Kernel, "$KERNEL"}, {"arch:           " + h.Arch, "$ARCH"},
		{"cpu:            " + fmt.Sprintf("%s (%d cpus)", h.CPUModel, h.CPUs), "$CPU ($CPUS cpus)"},
		{"go:             " + h.GoVersion, "$GO"},
	} {
		n.replace(kv[0]+"\n", kv[0][:16]+kv[1]+"\n")
	}
	n.replace(tmp, "$TMP")
	f := &goldenFlow{t: t, n: n, seen: map[string]bool{}}
	f.run("env-no-docker", 0, "env")

	// A session folder of a process that cannot exist (above pid_max).
	sessions := filepath.Join(tmp, "sessions")
	orphan := filepath.Join(sessions, "reprise-session-999999999-x")
	if err := os.MkdirAll(orphan, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", sessions)
	f.run("clean-no-docker", exitEnvironment, "clean")
	if _, err := os.Stat(orphan); err == nil {
		t.Errorf("clean kept %s", orphan)
	}
}

// goldenNightLog captures one decision of each fixture model into st and
// writes a Parquet log of 4 copies of each, req_241_0..3 and req_242_0..3,
// where req_241_2 stores a label the system never answers.
// goldenNightLog writes a night's log of 8 records (4 of 2.4.1, one of
// them planted, and 4 of 2.4.2) captured on this host; hw, when given, is
// the hardware class they claim instead (a night's shards are drawn by
// system and hardware class, so a golden of shards must not depend on the
// host's class).
func goldenNightLog(t *testing.T, st, bin, hw string) string {
	t.Helper()
	img := "sha256:" + strings.Repeat("0", 64)
	path := filepath.Join(t.TempDir(), "log.parquet")
	fl, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := record.NewParquetWriter(fl)
	for _, v := range []string{"2.4.1", "2.4.2"} {
		id := "req_" + strings.ReplaceAll(v, ".", "")
		rec, err := replayLoad(captureRec(t, st, img, v, id, "--runner", "process", "--entrypoint", bin))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			c := *rec
			c.RequestID = fmt.Sprintf("%s_%d", id, i)
			if hw != "" {
				c.Runtime.HardwareClass = hw
			}
			if c.RequestID == "req_241_2" {
				l := "planted-never-answered"
				c.Output.Label, c.Output.Score = &l, nil
				c.Output.Digest = digestOf(c.Output.Output.Canonical())
			}
			if err := w.Write(&c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := fl.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func openStoreAt(t *testing.T, dir string) *store.Layout {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
