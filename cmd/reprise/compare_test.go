package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fixtures/decisionlog"
	"github.com/reprise-dev/reprise/replay/compare"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/system"
)

// rolloutFixture is the worked rollback analysis of the README on the
// fixture loan server under the process runner: a log of 200 decisions
// whose last 50 (from 02:30) 2.4.2 served while the log says 2.4.1, the
// records imported, and the system files of 2.4.1 and 2.4.2.
type rolloutFixture struct {
	dir, st, bin, log, sys241, sys242 string
}

func newRolloutFixture(t *testing.T) *rolloutFixture {
	t.Helper()
	r := &rolloutFixture{dir: t.TempDir(), bin: buildLoanserver(t)}
	r.st = filepath.Join(r.dir, "store")
	img := "sha256:" + strings.Repeat("0", 64) // not used by the process runner
	hw := hwclass.Detect(context.Background())
	gl, err := decisionlog.Generate(decisionlog.Options{Rows: 200, Planted: 0.25, PlantedLast: true, Seed: 2,
		Image: system.ImageRef{Digest: digest.MustParse(img)}, Fixtures: fx(), Out: filepath.Join(r.dir, "rollout"), HardwareClass: hw})
	if err != nil {
		t.Fatal(err)
	}
	inputs, _ := filepath.Glob(filepath.Join(gl.Dir, decisionlog.InputsDir, "*.json"))
	model := func(v string) string { return fx("models", "loan-approver-"+v+".safetensors") }
	config := fx("configs", "loan-params-3.json")
	r.log = filepath.Join(gl.Dir, "records.parquet")
	r.sys241, r.sys242 = filepath.Join(r.dir, "system-2.4.1.json"), filepath.Join(r.dir, "system-2.4.2.json")
	for _, args := range [][]string{
		append([]string{"store", "put", model("2.4.1"), model("2.4.2"), config}, inputs...),
		{"record", "import", "--log", filepath.Join(gl.Dir, decisionlog.DecisionsFile), "--versions", filepath.Join(gl.Dir, decisionlog.VersionsFile), "--strict", "-o", r.log},
		{"system", "create", "--image", img, "--model", model("2.4.1"), "--config", config, "--hardware-class", hw, "-o", r.sys241},
		{"system", "create", "--image", img, "--model", model("2.4.2"), "--config", config, "--hardware-class", hw, "-o", r.sys242},
	} {
		if res := cli(t, "", append([]string{"--store", r.st}, args...)...); res.code != 0 {
			t.Fatalf("reprise %s: exit %d: %s", strings.Join(args, " "), res.code, res.err)
		}
	}
	return r
}

// compare is the rollback analysis's command: since the rollout, A the
// system that served (2.4.2), B the one rolled back to (2.4.1).
func (r *rolloutFixture) compare(out string, extra ...string) []string {
	return append([]string{"--store", r.st, "compare", "--log", r.log, "--since", "2026-08-01T02:30:00Z", "--a", r.sys242, "--b", r.sys241,
		"-n", "20", "--seed", "1", "--output", filepath.Join(r.dir, out), "--runner", "process", "--entrypoint", r.bin}, extra...)
}

// TestGoldenCompare holds `compare` (the rollback analysis: DIFFERENT,
// exit 1), `compare merge` of its two shards (the same output) and its
// usage errors to golden files.
func TestGoldenCompare(t *testing.T) {
	r := newRolloutFixture(t)
	n := newGoldenNorm(r.st)
	n.replace(r.dir, "$TMP")
	n.replace(r.bin, "$LOANSERVER")
	f := &goldenFlow{t: t, n: n, seen: map[string]bool{}}
	whole := f.run("compare-rollout", exitDiverged, r.compare("compare")...)
	for i := range 2 {
		if res := cli(t, "", r.compare("shard"+string(rune('0'+i)), "--shard", string(rune('0'+i))+"/2")...); res.code != exitDiverged {
			t.Fatalf("shard %d: exit %d: %s", i, res.code, res.err)
		}
	}
	merged := f.run("compare-merge-ok", exitDiverged, "--store", r.st, "compare", "merge", filepath.Join(r.dir, "shard0"), filepath.Join(r.dir, "shard1"),
		"--output", filepath.Join(r.dir, "compare"))
	if merged.out != whole.out {
		t.Errorf("the merged shards print\n%s\nthe whole comparison\n%s", merged.out, whole.out)
	}
	for _, name := range []string{"results.parquet", "report.json", "summary.md", "report.html"} {
		if _, err := os.Stat(filepath.Join(r.dir, "compare", name)); err != nil {
			t.Errorf("report %s: %v", name, err)
		}
	}
	f.run("compare-no-systems", exitUsage, "compare", "--log", r.log)
	f.run("compare-not-a-system", exitUsage, "--store", r.st, "compare", "--log", r.log, "--a", r.log, "--b", r.sys241)
	f.run("compare-bad-margin", exitUsage, "compare", "--log", r.log, "--a", r.sys242, "--b", r.sys241, "--margin", "1.5")
}

// TestCompareCode: a comparison's outcome maps to the documented exit codes.
func TestCompareCode(t *testing.T) {
	for _, c := range []struct {
		outcome, class string
		want           int
	}{
		{compare.OutcomeSame, "", exitOK}, {compare.OutcomeDifferent, "", exitDiverged}, {compare.OutcomeInconclusive, "", exitInconclusive},
		{compare.OutcomeError, "integrity", exitIntegrity}, {compare.OutcomeError, "environment", exitEnvironment}, {compare.OutcomeError, "usage", exitUsage},
	} {
		if got := compareCode(&compare.Comparison{Outcome: c.outcome, ErrorClass: c.class}); got != c.want {
			t.Errorf("outcome %s (%s): exit %d, want %d", c.outcome, c.class, got, c.want)
		}
	}
	for _, err := range []error{compare.ErrOptions, compare.ErrOut, compare.ErrOther, compare.ErrConfig, compare.ErrShards, compare.ErrLocked} {
		if got := exitCode(err); got != exitUsage {
			t.Errorf("%v: exit %d, want 2", err, got)
		}
	}
}
