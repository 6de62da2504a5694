package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/runners/hwclass"
)

// nightlyLog captures one record of each fixture model with the process
// runner and writes a Parquet log of perSystem copies of each (new request
// ids, same system and stored output).
func nightlyLog(t *testing.T, bin, st string, perSystem int) string {
	t.Helper()
	img := "sha256:" + strings.Repeat("0", 64)
	var recs []*record.Record
	for _, model := range []string{"2.4.1", "2.4.2"} {
		recPath := captureRec(t, st, img, model, "req_"+strings.ReplaceAll(model, ".", ""), "--runner", "process", "--entrypoint", bin)
		rec, err := replayLoad(recPath)
		if err != nil {
			t.Fatal(err)
		}
		for i := range perSystem {
			c := *rec
			c.RequestID = fmt.Sprintf("req_%s_%03d", strings.ReplaceAll(model, ".", ""), i)
			recs = append(recs, &c)
		}
	}
	return writeRecordLog(t, recs)
}

// writeRecordLog writes recs as a Parquet decision log in a temporary
// folder and returns its path.
func writeRecordLog(t *testing.T, recs []*record.Record) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := record.NewParquetWriter(f)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func replayLoad(path string) (*record.Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return record.Parse(b)
}

func journalIDs(t *testing.T, dir string) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, nightly.JournalName))
	if err != nil {
		return nil
	}
	defer f.Close()
	ids := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r nightly.Result
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			ids[r.RequestID]++
		}
	}
	return ids
}

func nightRecords(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, nightly.ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Records json.RawMessage `json:"records"`
		Systems json.RawMessage `json:"systems"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return append(rep.Records, rep.Systems...)
}

// TestNightlyResumeAfterSIGKILL kills a night outright (SIGKILL) in the
// middle, runs the same command again, and checks that no journaled record
// was replayed twice, none was lost, and the results equal an uninterrupted
// night's.
func TestNightlyResumeAfterSIGKILL(t *testing.T) {
	bin := buildLoanserver(t)
	st := filepath.Join(t.TempDir(), "store")
	const per = 80
	logPath := nightlyLog(t, bin, st, per)
	args := func(out string) []string {
		return []string{"--store", st, "nightly", "--log", logPath, "--runner", "process", "--entrypoint", bin,
			"-n", "60", "--seed", "3", "--output", out, "--parallel", "2"}
	}
	full := filepath.Join(t.TempDir(), "full")
	r := cli(t, "", args(full)...)
	if r.code > 3 {
		t.Fatalf("uninterrupted night: exit %d: %s", r.code, r.err)
	}

	out := filepath.Join(t.TempDir(), "killed")
	cmd := exec.Command(os.Args[0], args(out)...)
	cmd.Env = append(os.Environ(), "REPRISE_TEST_AS_CLI=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(journalIDs(t, out)) < 15 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	before := journalIDs(t, out)
	if len(before) == 0 || len(before) >= 2*per {
		t.Fatalf("the kill came at %d of %d records; the test needs it in the middle", len(before), 2*per)
	}
	t.Logf("killed after %d of %d records", len(before), 2*per)
	r = cli(t, "", args(out)...)
	if r.code > 3 {
		t.Fatalf("resumed night: exit %d: %s", r.code, r.err)
	}
	after := journalIDs(t, out)
	if len(after) != 2*per {
		t.Errorf("%d records journaled, want %d", len(after), 2*per)
	}
	for id, k := range after {
		if k != 1 {
			t.Errorf("%s journaled %d times", id, k)
		}
	}
	if !bytes.Equal(nightRecords(t, full), nightRecords(t, out)) {
		t.Error("the resumed night's results differ from the uninterrupted night's")
	}
}

func TestNightlyUsageErrors(t *testing.T) {
	st := filepath.Join(t.TempDir(), "store")
	cli(t, "", "--store", st, "store", "init")
	for _, args := range [][]string{
		{"nightly"},
		{"nightly", "--log", "x.parquet", "--stratify", "model"},
		{"nightly", "--log", "x.parquet", "--fdr", "0"},
		{"nightly", "--log", "x.parquet", "--shard", "3/3"},
		{"nightly", "--log", "x.parquet", "--confirm-n", "0"},
		{"nightly", "--log", "x.parquet", "--confirm-n", "100", "-n", "50"},
		{"nightly", "--log", "x.parquet", "--where", "1 +"},
		{"nightly", "--log", filepath.Join(t.TempDir(), "missing.parquet"), "--output", t.TempDir()},
		{"nightly", "merge", t.TempDir()},
	} {
		if r := cli(t, "", append([]string{"--store", st}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.err)
		}
	}
}

// TestNightlyDivergedForCI plants one record whose stored label the system
// never answers: the night exits 1, appends the step summary, prints an
// ::error annotation under GitHub Actions, and keeps stdout to the result.
func TestNightlyDivergedForCI(t *testing.T) {
	bin := buildLoanserver(t)
	st := filepath.Join(t.TempDir(), "store")
	logPath := plantedLog(t, st, bin)
	summary := filepath.Join(t.TempDir(), "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)
	t.Setenv("GITHUB_ACTIONS", "true")
	out := filepath.Join(t.TempDir(), "night")
	r := cli(t, "", "--store", st, "nightly", "--log", logPath, "--runner", "process", "--entrypoint", bin,
		"-n", "50", "--min-frequency", "0.2", "--output", out)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1: %s\n%s", r.code, r.err, r.out)
	}
	if !strings.Contains(r.out, "::error title=DIVERGED req_ci_07::") || !strings.Contains(r.out, "DIVERGED req_ci_07") {
		t.Errorf("stdout:\n%s", r.out)
	}
	b, _ := os.ReadFile(summary)
	if !strings.Contains(string(b), "| req_ci_07 |") {
		t.Errorf("step summary:\n%s", b)
	}
	for _, name := range []string{nightly.ResultsParquet, nightly.ReportJSON, nightly.JUnitXML, nightly.ReportHTML} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	if strings.Contains(r.err, "\r") {
		t.Error("a progress bar was drawn on a stderr that is not a terminal")
	}
}

// plantedLog captures a decision of the loan server bin into st and
// writes a log of 20 copies of it, req_ci_00 to req_ci_19, where req_ci_07
// stores a label the server never answers.
func plantedLog(t *testing.T, st, bin string) string {
	t.Helper()
	img := "sha256:" + strings.Repeat("0", 64)
	rec, err := replayLoad(captureRec(t, st, img, "2.4.1", "req_ci", "--runner", "process", "--entrypoint", bin))
	if err != nil {
		t.Fatal(err)
	}
	var recs []*record.Record
	for i := range 20 {
		c := *rec
		c.RequestID = fmt.Sprintf("req_ci_%02d", i)
		if i == 7 {
			l := "planted-never-answered"
			c.Output.Label, c.Output.Score = &l, nil
			c.Output.Digest = digestOf(c.Output.Output.Canonical())
		}
		recs = append(recs, &c)
	}
	return writeRecordLog(t, recs)
}

// TestNightlyConfirmN: a sequential night replays the record its pinned
// seed did not reproduce with --confirm-n fresh seeds (and 20 times as many
// when that is inconclusive), not the default 1000 (or 20000).
func TestNightlyConfirmN(t *testing.T) {
	bin := buildLoanserver(t)
	st := filepath.Join(t.TempDir(), "store")
	logPath := plantedLog(t, st, bin)
	out := filepath.Join(t.TempDir(), "night")
	r := cli(t, "", "--store", st, "nightly", "--log", logPath, "--runner", "process", "--entrypoint", bin,
		"--confirm-n", "60", "--output", out, "--format", "json")
	if r.code > 3 {
		t.Fatalf("nightly: exit %d: %s", r.code, r.err)
	}
	b, _ := os.ReadFile(filepath.Join(out, nightly.ReportJSON))
	var rep struct {
		Records []nightly.Result `json:"records"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	for _, rec := range rep.Records {
		if rec.RequestID != "req_ci_07" {
			continue
		}
		runs := 0
		for _, c := range rec.Labels {
			runs += c.N
		}
		if runs != 60 && runs != 60*nightly.ConfirmGrowth {
			t.Errorf("req_ci_07: %d runs in its last replay, want 60 or %d (%s, %s)", runs, 60*nightly.ConfirmGrowth, rec.Verdict, rec.Why)
		}
		t.Logf("req_ci_07: %d runs, %s: %s", runs, rec.Verdict, rec.Why)
		return
	}
	t.Fatalf("req_ci_07 not in the report (%d records)", len(rep.Records))
}

func fmtP(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.3g", *p)
}

func digestOf(b []byte) digest.Digest { return digest.FromBytes(b) }

// TestNightlyGeneratedLog runs the fixture generator's log end to end:
// store put the inputs and artifacts, record import through the version
// map, nightly with the process runner. Unplanted rows reproduce exactly;
// the planted rows (served by 2.4.2, logged as 2.4.1) never do.
func TestNightlyGeneratedLog(t *testing.T) {
	bin := buildLoanserver(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	logDir := filepath.Join(dir, "log")
	gen := exec.Command("go", "run", "./fixtures/cmd/gen-decision-log", "-rows", "60", "-planted", "0.05", "-seed", "4",
		"-image", "sha256:"+strings.Repeat("0", 64), "-out", logDir, "-hardware-class", hwclass.Detect(context.Background()))
	gen.Dir = repoRoot()
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	inputs, _ := filepath.Glob(filepath.Join(logDir, "inputs", "*.json"))
	put := append([]string{"--store", st, "store", "put", fx("models", "loan-approver-2.4.1.safetensors"),
		fx("models", "loan-approver-2.4.2.safetensors"), fx("configs", "loan-params-3.json")}, inputs...)
	if r := cli(t, "", put...); r.code != 0 {
		t.Fatalf("store put: %d %s", r.code, r.err)
	}
	records := filepath.Join(dir, "records.parquet")
	r := cli(t, "", "--store", st, "record", "import", "--log", filepath.Join(logDir, "decisions.jsonl"),
		"--versions", filepath.Join(logDir, "versions.json"), "--strict", "-o", records)
	if r.code != 0 {
		t.Fatalf("import: exit %d: %s\n%s", r.code, r.err, r.out)
	}
	out := filepath.Join(dir, "night")
	r = cli(t, "", "--store", st, "nightly", "--log", records, "--runner", "process", "--entrypoint", bin, "-n", "200", "--output", out, "--format", "json")
	if r.code > 3 {
		j, _ := nightly.ReadJournal(out)
		for _, x := range j {
			t.Fatalf("nightly: exit %d: first error: %s", r.code, x.Error)
		}
		t.Fatalf("nightly: exit %d: %s", r.code, r.err)
	}
	pb, _ := os.ReadFile(filepath.Join(logDir, "planted.txt"))
	planted := map[string]bool{}
	for _, id := range strings.Fields(string(pb)) {
		planted[id] = true
	}
	b, _ := os.ReadFile(filepath.Join(out, nightly.ReportJSON))
	var rep struct {
		Records []nightly.Result `json:"records"`
	}
	json.Unmarshal(b, &rep)
	if len(rep.Records) != 60 || len(planted) != 3 {
		t.Fatalf("%d records, %d planted", len(rep.Records), len(planted))
	}
	found := 0
	for _, rec := range rep.Records {
		exact := rec.ReplayVerdict == "REPRODUCED" && rec.Basis == "exact"
		if planted[rec.RequestID] == exact {
			t.Errorf("%s (planted %v): replay %s %s, night %s", rec.RequestID, planted[rec.RequestID], rec.ReplayVerdict, rec.Basis, rec.Verdict)
		}
		if planted[rec.RequestID] {
			if rec.Verdict == "DIVERGED" {
				found++
			}
			t.Logf("planted %s: replay %s, p %s (%s), q %s, night %s", rec.RequestID, rec.ReplayVerdict, fmtP(rec.PValue), rec.PTest, fmtP(rec.QValue), rec.Verdict)
		}
	}
	t.Logf("planted rows DIVERGED after BH at -n 200: %d of %d", found, len(planted))
}

// TestNightlyRefusedFilters: a --where that cannot match the log's column
// types, and one whose estimated cost is over the limit, are refused with
// exit 2 before the log is read, the message naming the expression and the
// types, or the limit and the flag that raises it.
func TestNightlyRefusedFilters(t *testing.T) {
	st := emptyStore(t, t.TempDir())
	l10 := "[1,2,3,4,5,6,7,8,9,10]"
	nested := "a + b + c + d + e + f > 0"
	for _, v := range []string{"f", "e", "d", "c", "b", "a"} {
		nested = l10 + ".all(" + v + ", " + nested + ")"
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"--where", `output.score == "x"`}, []string{`--where: invalid where expression: "output.score == \"x\"" does not compile against the decision log's column types (`,
			"output.score double", "found no matching overload for '_==_' applied to '(double, string)'"}},
		{[]string{"--where", nested}, []string{"exceeds the cost limit of 1000000 (raise it with --where-cost-limit)"}},
		{[]string{"--where", `output.text.contains("x")`, "--where-cost-limit", "1000"}, []string{"exceeds the cost limit of 1000 (raise it with --where-cost-limit)"}},
	} {
		args := append([]string{"--store", st, "nightly", "--log", filepath.Join(t.TempDir(), "missing.parquet"), "--output", t.TempDir()}, c.args...)
		r := cli(t, "", args...)
		if r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", c.args, r.code, r.err)
		}
		for _, w := range c.want {
			if !strings.Contains(r.err, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", c.args, w, r.err)
			}
		}
	}
	if r := cli(t, "", "--store", st, "nightly", "--log", filepath.Join(t.TempDir(), "missing.parquet"), "--output", t.TempDir(), "--where", nested, "--where-cost-limit", "20000000"); r.code != 2 || !strings.Contains(r.err, "missing.parquet") {
		t.Errorf("a raised limit: exit %d, %s (want the missing log's exit 2)", r.code, r.err)
	}
}

// TestNightlyEmptyNight: a night that selects no record (--since after the
// log) exits 3, even with --min-rate, saying why on stdout and in the
// reports; rerun in the same folder after the log was rewritten in place
// at the same size, it is refused with exit 2 naming both digests.
func TestNightlyEmptyNight(t *testing.T) {
	dir := t.TempDir()
	st := emptyStore(t, dir)
	rec, err := replayLoad(filepath.Join(repoRoot(), "record", "testdata", "valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	logPath := writeRecordLog(t, []*record.Record{rec})
	out := filepath.Join(dir, "night")
	args := []string{"--store", st, "nightly", "--log", logPath, "--runner", "process", "--entrypoint", "/bin/true",
		"--since", rec.Timestamp.Add(time.Hour).Format(time.RFC3339), "--min-rate", "0.9", "--output", out}
	r := cli(t, "", args...)
	why := "why: nothing was replayed, which is no evidence of reproducibility: no row matches --since " +
		rec.Timestamp.Add(time.Hour).UTC().Format(time.RFC3339) + " among the log's 1 rows; the log's timestamps run from " + rec.Timestamp.UTC().Format(time.RFC3339Nano)
	if r.code != 3 || !strings.Contains(r.out, "outcome: inconclusive\n") || !strings.Contains(r.out, why) {
		t.Fatalf("exit %d, want 3 and %q:\n%s\n%s", r.code, why, r.out, r.err)
	}
	b, _ := os.ReadFile(filepath.Join(out, nightly.JUnitXML))
	if !strings.Contains(string(b), `<skipped message="INCONCLUSIVE"`) {
		t.Errorf("junit.xml:\n%s", b)
	}
	cfg, err := nightly.ReadConfig(out)
	if err != nil {
		t.Fatal(err)
	}
	// The same size, other bytes: a byte of the log's first page flipped.
	lb, _ := os.ReadFile(logPath)
	lb[4] ^= 0xff
	if err := os.WriteFile(logPath, lb, 0o644); err != nil {
		t.Fatal(err)
	}
	r = cli(t, "", args...)
	if r.code != 2 || !strings.Contains(r.err, "names log digest "+cfg.LogDigest.String()) || !strings.Contains(r.err, "is now "+digestOf(lb).String()) {
		t.Errorf("rewritten log: exit %d, want 2 naming both digests:\n%s", r.code, r.err)
	}
}
