package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/reprise-dev/reprise/evals"
)

// TestEvalsWorkflow runs the whole eval workflow on the fixture suites with
// the process runner: system create, pack, run 2.4.1 and 2.4.2 on v1,
// compare, compare across v1 and v2 (refused, exit 2), rescore, compare,
// history.
func TestEvalsWorkflow(t *testing.T) {
	bin := buildLoanserver(t)
	root := repoRoot()
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	img := "sha256:" + strings.Repeat("0", 64) // not used by the process runner
	sys := map[string]string{}
	for _, v := range []string{"2.4.1", "2.4.2"} {
		f := filepath.Join(dir, v+".json")
		r := cli(t, "", "--store", st, "system", "create", "--image", img,
			"--model", filepath.Join(root, "fixtures/models/loan-approver-"+v+".safetensors"),
			"--config", filepath.Join(root, "fixtures/configs/loan-params-3.json"), "-o", f)
		if r.code != 0 {
			t.Fatalf("system create: %d %s", r.code, r.err)
		}
		sys[v] = f
	}
	pack := func(v string) string {
		r := cli(t, "", "--store", st, "evals", "pack", filepath.Join(root, "fixtures/suites/loan-"+v))
		if r.code != 0 {
			t.Fatalf("pack: %d %s", r.code, r.err)
		}
		return strings.TrimSpace(r.out)
	}
	v1, v2 := pack("v1"), pack("v2")
	if v1 == v2 || pack("v1") != v1 {
		t.Fatalf("suite digests %s %s", v1, v2)
	}
	proc := []string{"--runner", "process", "--entrypoint", bin}
	runJSON := func(v any, args ...string) {
		t.Helper()
		r := cli(t, "", append(append([]string{"--store", st}, args...), append(proc, "--format", "json")...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d %s", args, r.code, r.err)
		}
		if err := json.Unmarshal([]byte(r.out), v); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, r.out)
		}
	}
	run := func(args ...string) (res evals.RunResult) {
		t.Helper()
		runJSON(&res, args...)
		return res
	}
	a := run("evals", "run", "--suite", v1, "--system", sys["2.4.1"], "-k", "3")
	b := run("evals", "run", "--suite", v1, "--system", sys["2.4.2"], "-k", "3")
	if a.Summary.Items != 12 || a.Summary.Rows != 36 || a.ItemsRun != 12 || a.Summary.Mean <= b.Summary.Mean {
		t.Fatalf("runs %+v %+v", a, b)
	}
	r := cli(t, "", "--store", st, "evals", "compare", a.Run.String(), b.Run.String())
	if r.code != 0 || !strings.Contains(r.out, "flipped items:") {
		t.Fatalf("compare: %d %s %s", r.code, r.out, r.err)
	}
	c := run("evals", "run", "--suite", v2, "--system", sys["2.4.2"], "-k", "3")
	r = cli(t, "", "--store", st, "evals", "compare", a.Run.String(), c.Run.String())
	if r.code != 2 || !strings.Contains(r.err, "loan-approver-labels 1") || !strings.Contains(r.err, "loan-approver-labels 2") ||
		!strings.Contains(r.err, "reprise evals rescore --suite "+v2+" --results "+a.Run.String()) {
		t.Fatalf("compare across suites: %d %s", r.code, r.err)
	}
	// v2: 9 unchanged items + app-11 (reference changed) are re-scored;
	// app-05 (input changed), app-13 and app-14 (new) are run.
	var ds []evals.RunResult
	runJSON(&ds, "evals", "rescore", "--suite", v2, "--results", a.Run.String())
	if len(ds) != 1 {
		t.Fatalf("rescore printed %d results", len(ds))
	}
	d := ds[0]
	if d.Rescored != 10 || d.ItemsRun != 3 || d.Summary.Rows != 39 || d.Suite.String() != v2 {
		t.Fatalf("rescore %+v", d)
	}
	r = cli(t, "", "--store", st, "evals", "compare", d.Run.String(), c.Run.String(), "--format", "json")
	if r.code != 0 {
		t.Fatalf("compare after rescore: %d %s", r.code, r.err)
	}
	r = cli(t, "", "--store", st, "evals", "history", "--suite", v1, "--format", "json")
	var h []evals.RunResult
	if err := json.Unmarshal([]byte(r.out), &h); err != nil || len(h) != 2 {
		t.Fatalf("history: %v %s", err, r.out)
	}
	r = cli(t, "", "--store", st, "evals", "history", "--system", sys["2.4.1"], "--format", "json")
	if err := json.Unmarshal([]byte(r.out), &h); err != nil || len(h) != 2 {
		t.Fatalf("history --system: %v %s", err, r.out)
	}
	// A bad suite is refused naming file and line (exit 2).
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "suite.json"), []byte(`{"name":"x","version":"1","scorer":{"type":"label"}}`), 0o644)
	os.WriteFile(filepath.Join(bad, "items.jsonl"), []byte(`{"id":"a","input":{},"reference":"x"}`+"\n"+`{"id":"a","input":{},"reference":"y"}`+"\n"), 0o644)
	r = cli(t, "", "--store", st, "evals", "pack", bad)
	if r.code != 2 || !strings.Contains(r.err, "items.jsonl:2: duplicate item id") {
		t.Fatalf("bad suite: %d %s", r.code, r.err)
	}
	r = cli(t, "", "--store", st, "evals", "diff", v1, v2, "--format", "json")
	if r.code != 0 || !strings.Contains(r.out, `"reference_changed": [
    "app-11"`) {
		t.Fatalf("diff: %d %s %s", r.code, r.out, r.err)
	}
}

// TestEvalsRunDocker runs suite v1 in the real sandbox (one container for
// the whole run) and with the process runner on the same system file: the
// same run seed gives the same outputs, hence the same scores.
func TestEvalsRunDocker(t *testing.T) {
	_, img := fixtureImage(t)
	bin := buildLoanserver(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	sys := filepath.Join(dir, "sys.json")
	if r := cli(t, "", "--store", st, "system", "create", "--image", img, "--model", fx("models", "loan-approver-2.4.1.safetensors"),
		"--config", fx("configs", "loan-params-3.json"), "-o", sys); r.code != 0 {
		t.Fatalf("system create: %d %s", r.code, r.err)
	}
	var res [2]evals.RunResult
	for i, extra := range [][]string{{"--runner", "docker"}, {"--runner", "process", "--entrypoint", bin}} {
		args := append([]string{"--store", st, "evals", "run", "--suite", fx("suites", "loan-v1"), "--system", sys, "-k", "4", "--run-seed", "9", "--format", "json"}, extra...)
		r := cli(t, "", args...)
		if r.code != 0 {
			t.Fatalf("evals run %v: %d %s", extra, r.code, r.err)
		}
		if err := json.Unmarshal([]byte(r.out), &res[i]); err != nil {
			t.Fatal(err)
		}
	}
	if res[0].Summary.Rows != 48 || res[0].Summary.Mean != res[1].Summary.Mean || res[0].Run == res[1].Run {
		t.Fatalf("docker %+v\nprocess %+v", res[0].Summary, res[1].Summary)
	}
}

// TestEvalsLeakage: the fixture training set leaks app-03 and app-07 of
// suite v1 (exit 1); a training set without them is clean (exit 0).
func TestEvalsLeakage(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	pack := func(f string) string {
		r := cli(t, "", "--store", st, "data", "pack", f)
		if r.code != 0 {
			t.Fatalf("data pack: %d %s", r.code, r.err)
		}
		return strings.TrimSpace(r.out)
	}
	leaky := pack(fx("train", "loan-train.jsonl"))
	r := cli(t, "", "--store", st, "evals", "leakage", "--suite", fx("suites", "loan-v1"), "--train", leaky, "--format", "json")
	var rep struct{ Flagged []string }
	if r.code != 1 || json.Unmarshal([]byte(r.out), &rep) != nil || strings.Join(rep.Flagged, ",") != "app-03,app-07" {
		t.Fatalf("leaky: %d %s %s", r.code, r.out, r.err)
	}
	clean := pack(writeFile(t, dir, "clean.txt", "nothing from the suite\nat all\n"))
	if r := cli(t, "", "--store", st, "evals", "leakage", "--suite", fx("suites", "loan-v1"), "--train", clean); r.code != 0 {
		t.Fatalf("clean: %d %s %s", r.code, r.out, r.err)
	}
	if r := cli(t, "", "--store", st, "data", "pack", writeFile(t, dir, "x.parquet", "PAR1")); r.code != 2 || !strings.Contains(r.err, "x.parquet") {
		t.Fatalf("not parquet: %d %s", r.code, r.err)
	}
	// A Parquet file leaking app-03 and app-07 (input values in "text",
	// label in "label") among prose rows, in row groups of 4.
	type row struct {
		ID    int64  `parquet:"id"`
		Text  string `parquet:"text"`
		Label string `parquet:"label"`
	}
	var rows []row
	for i := range 20 {
		rows = append(rows, row{int64(i), "nothing from the suite in row " + strconv.Itoa(i), "denied"})
	}
	rows[5], rows[13] = row{5, "560 0.55 58 19 3", "referred"}, row{13, "680 0.15 64 31 7", "approved"}
	pq := filepath.Join(dir, "train.parquet")
	f, _ := os.Create(pq)
	w := parquet.NewGenericWriter[row](f, parquet.MaxRowsPerRowGroup(4))
	if _, err := w.Write(rows); err != nil || w.Close() != nil || f.Close() != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 1, "app-03,app-07"},
		{[]string{"--column", "label"}, 0, ""},
	} {
		r := cli(t, "", append([]string{"--store", st, "data", "pack", pq}, c.args...)...)
		if r.code != 0 {
			t.Fatalf("data pack %v: %d %s", c.args, r.code, r.err)
		}
		r = cli(t, "", "--store", st, "evals", "leakage", "--suite", fx("suites", "loan-v1"), "--train", strings.TrimSpace(r.out), "--format", "json")
		rep.Flagged = nil
		if r.code != c.code || json.Unmarshal([]byte(r.out), &rep) != nil || strings.Join(rep.Flagged, ",") != c.want {
			t.Fatalf("parquet %v: %d %s %s", c.args, r.code, r.out, r.err)
		}
	}
	if r := cli(t, "", "--store", st, "data", "pack", pq, "--column", "id"); r.code != 2 || !strings.Contains(r.err, `column "id" is INT64`) {
		t.Fatalf("--column id: %d %s", r.code, r.err)
	}
	if r := cli(t, "", "--store", st, "data", "pack", fx("train", "loan-train.jsonl"), "--column", "text"); r.code != 2 || !strings.Contains(r.err, "only for Parquet") {
		t.Fatalf("--column on jsonl: %d %s", r.code, r.err)
	}
}

// TestEvalsCheck replays a record's pinned suite: refused without a stored
// run (exit 2), REPRODUCED against the stored run (exit 0).
func TestEvalsCheck(t *testing.T) {
	bin := buildLoanserver(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	v1 := strings.TrimSpace(cli(t, "", "--store", st, "evals", "pack", fx("suites", "loan-v1")).out)
	rec := filepath.Join(dir, "rec.json")
	r := cli(t, "", "--store", st, "record", "create", "--image", "sha256:"+strings.Repeat("0", 64),
		"--input", fx("inputs", "application-demo.json"), "--model", fx("models", "loan-approver-2.4.1.safetensors"),
		"--config", fx("configs", "loan-params-3.json"), "--label", "approved", "--eval-suite", v1, "--request-id", "req_ev", "-o", rec)
	if r.code != 0 {
		t.Fatalf("record create: %d %s", r.code, r.err)
	}
	proc := []string{"--runner", "process", "--entrypoint", bin}
	if r := cli(t, "", append([]string{"--store", st, "evals", "check", rec}, proc...)...); r.code != 2 || !strings.Contains(r.err, "evals run --suite "+v1) {
		t.Fatalf("no stored run: %d %s", r.code, r.err)
	}
	if r := cli(t, "", append([]string{"--store", st, "evals", "run", "--suite", v1, "--system", rec, "-k", "20"}, proc...)...); r.code != 0 {
		t.Fatalf("evals run: %d %s", r.code, r.err)
	}
	r = cli(t, "", append([]string{"--store", st, "evals", "check", rec, "--eval-margin", "0.1", "--format", "json"}, proc...)...)
	var res evals.CheckResult
	if r.code != 0 || json.Unmarshal([]byte(r.out), &res) != nil || res.Verdict != "REPRODUCED" || res.StoredRun == res.ReplayRun {
		t.Fatalf("check: %d %s %s", r.code, r.out, r.err)
	}
}

// TestEvalsRunResume: a run whose system crashes after 20 answers (the
// fixture's REPRISE_FIXTURE_CRASH_AFTER) keeps them in its journal (exit
// 5); the same command again resumes from it, runs only the other 40, and
// stores the run an uninterrupted run stores (same seeds, same scores).
func TestEvalsRunResume(t *testing.T) {
	bin := buildLoanserver(t)
	proc := []string{"--runner", "process", "--entrypoint", bin}
	sysFile := func(st string) string {
		f := filepath.Join(t.TempDir(), "sys.json")
		if r := cli(t, "", "--store", st, "system", "create", "--image", "sha256:"+strings.Repeat("0", 64), "--model", fx("models", "loan-approver-2.4.1.safetensors"),
			"--config", fx("configs", "loan-params-3.json"), "-o", f); r.code != 0 {
			t.Fatalf("system create: %d %s", r.code, r.err)
		}
		return f
	}
	run := func(st, sys string, extra ...string) cliResult {
		return cli(t, "", append(append([]string{"--store", st, "evals", "run", "--suite", fx("suites", "loan-v1"), "--system", sys, "-k", "5", "--run-seed", "3", "--format", "json"}, proc...), extra...)...)
	}
	ref := filepath.Join(t.TempDir(), "store")
	r := run(ref, sysFile(ref))
	var want, got evals.RunResult
	if r.code != 0 || json.Unmarshal([]byte(r.out), &want) != nil {
		t.Fatalf("uninterrupted: %d %s", r.code, r.err)
	}
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	sys := sysFile(st)
	r = run(st, sys, "--env", "REPRISE_FIXTURE_CRASH_AFTER=20")
	if r.code != 5 || !strings.Contains(r.err, "run the same command again to resume") {
		t.Fatalf("crash: %d %s", r.code, r.err)
	}
	js, _ := filepath.Glob(filepath.Join(dir, "evals-journals", "evals-run-*.jsonl"))
	if len(js) != 1 {
		t.Fatalf("journals %v", js)
	}
	if b, _ := os.ReadFile(js[0]); strings.Count(string(b), "\n") != 20 {
		t.Fatalf("journal holds %d lines", strings.Count(string(b), "\n"))
	}
	r = run(st, sys)
	if r.code != 0 || json.Unmarshal([]byte(r.out), &got) != nil || !strings.Contains(r.err, "20 answers already scored") {
		t.Fatalf("resume: %d %s %s", r.code, r.out, r.err)
	}
	if got.Summary.Mean != want.Summary.Mean || got.Summary.Rows != 60 || got.Summary.Lower != want.Summary.Lower {
		t.Fatalf("resumed %+v\nwant %+v", got.Summary, want.Summary)
	}
	if js, _ := filepath.Glob(filepath.Join(dir, "evals-journals", "*")); len(js) != 0 {
		t.Fatalf("journal left after the run was stored: %v", js)
	}
}
