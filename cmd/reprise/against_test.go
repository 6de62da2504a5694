package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/replay/counterfactual"
	"github.com/reprise-dev/reprise/runners/hwclass"
)

// TestGoldenCounterfactual holds replay --against and attribute to golden
// files on the post-mortem of the demo: the fixture loan server under the
// process runner, a record logged as 2.4.1 whose stored decision 2.4.2
// made (seed 42), and the honest record of 2.4.1.
func TestGoldenCounterfactual(t *testing.T) {
	bin := buildLoanserver(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	n := newGoldenNorm(st)
	n.replace(dir, "$TMP")
	n.replace(hwclass.Detect(context.Background()), "$HWCLASS")
	f := &goldenFlow{t: t, n: n, seen: map[string]bool{}}
	S := func(args ...string) []string { return append([]string{"--store", st}, args...) }
	proc := []string{"--runner", "process", "--entrypoint", bin}
	img := "sha256:" + strings.Repeat("0", 64) // not used by the process runner
	path := postMortem(t, f, S, img, dir, proc)
	against := func(name string, code int, sys string) {
		f.run(name, code, append(S("replay", path("logged-241.json"), "--against", path(sys), "--output", path(name)), proc...)...)
	}
	against("replay-against-different", exitDiverged, "system-2.4.2.json")
	against("replay-against-same", exitOK, "system-2.4.1.json")
	rep, err := os.ReadFile(path("replay-against-different/report.json"))
	if err != nil || !strings.Contains(string(rep), `"verdict": "DIFFERENT"`) {
		t.Errorf("report.json: %v", err)
	}
	runs, err := counterfactual.ReadRuns(path("replay-against-same/runs.parquet"))
	per := map[string]int{}
	for _, r := range runs {
		per[r.Role]++
	}
	if err != nil || len(per) != 2 || len(runs) < 2*125 {
		t.Errorf("runs.parquet: %d runs, per system %v, %v", len(runs), per, err)
	}
	f.run("attribute-ok", exitDiverged, append(S("attribute", path("logged-241.json"), "--candidates", path("system-2.4.1.json"), path("system-2.4.2.json"), "--output", path("attr")), proc...)...)
	f.run("attribute-honest", exitOK, append(S("attribute", path("honest.json"), "--candidates", path("system-2.4.2.json"), "--output", path("attr-honest"), "--format", "json"), proc...)...)
	f.run("attribute-no-candidates", exitUsage, S("attribute", path("honest.json"))...)
	f.run("replay-against-two-records", exitUsage, S("replay", path("honest.json"), path("by-242.json"), "--against", path("system-2.4.2.json"))...)
	f.run("replay-against-not-a-system", exitUsage, S("replay", path("honest.json"), "--against", fx("inputs", "application-demo.json"))...)
}

// postMortem makes the post-mortem's files in dir with f's store (S adds
// it): honest.json (2.4.1's decision, captured), by-242.json (2.4.2's),
// logged-241.json (2.4.2's decision in a record pinning 2.4.1) and the
// system files system-2.4.1.json, system-2.4.2.json. extra are the runner
// flags of the captures. It returns the path of a file in dir.
func postMortem(t *testing.T, f *goldenFlow, S func(...string) []string, img, dir string, extra []string) func(string) string {
	t.Helper()
	model := func(v string) string { return fx("models", "loan-approver-"+v+".safetensors") }
	parts := []string{"--image", img, "--input", fx("inputs", "application-demo.json"), "--config", fx("configs", "loan-params-3.json"), "--seed", "42"}
	path := func(name string) string { return filepath.Join(dir, name) }
	f.must(append(S(append([]string{"record", "create", "--capture", "--model", model("2.4.1"), "--request-id", "req_honest", "-o", path("honest.json")}, parts...)...), extra...)...)
	f.must(append(S(append([]string{"record", "create", "--capture", "--model", model("2.4.2"), "--request-id", "req_by_242", "-o", path("by-242.json")}, parts...)...), extra...)...)
	var by struct {
		Output struct {
			Label string
			Score json.Number
		}
	}
	b, _ := os.ReadFile(path("by-242.json"))
	if err := json.Unmarshal(b, &by); err != nil || by.Output.Label != "denied" {
		t.Fatalf("2.4.2's decision: %+v, %v", by.Output, err)
	}
	f.must(S(append([]string{"record", "create", "--model", model("2.4.1"), "--label", by.Output.Label, "--score", by.Output.Score.String(),
		"--request-id", "req_logged_241", "-o", path("logged-241.json")}, parts...)...)...)
	for _, v := range []string{"2.4.1", "2.4.2"} {
		f.must(S("system", "create", "--image", img, "--model", model(v), "--config", fx("configs", "loan-params-3.json"), "-o", path("system-"+v+".json"))...)
	}
	return path
}

// TestCounterfactualDocker is the acceptance on the fixture
// systems in the real engine: a record decided by 2.4.2 but logged as
// 2.4.1 is DIFFERENT against 2.4.2 and SAME against a sibling record of
// 2.4.1 (its own system); the record 2.4.2 decided and logged is SAME
// against 2.4.2; attribute returns {2.4.2} and excludes 2.4.1; an honest
// record's set contains its own system.
func TestCounterfactualDocker(t *testing.T) {
	_, img := fixtureImage(t)
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	f := &goldenFlow{t: t, n: newGoldenNorm(st), seen: map[string]bool{}}
	S := func(args ...string) []string { return append([]string{"--store", st}, args...) }
	path := postMortem(t, f, S, img, dir, nil)
	sibling := captureRec(t, st, img, "2.4.1", "req_sibling")
	for _, c := range []struct {
		rec, against string
		code         int
		want         string
	}{
		{"logged-241.json", path("system-2.4.2.json"), exitDiverged, "DIFFERENT"},
		{"logged-241.json", sibling, exitOK, "SAME"},
		{"by-242.json", path("system-2.4.2.json"), exitOK, "SAME"},
	} {
		out := filepath.Join(dir, "cf-"+c.rec+filepath.Base(c.against))
		r := cli(t, "", S("replay", path(c.rec), "--against", c.against, "--output", out)...)
		var rep counterfactual.AgainstReport
		b, _ := os.ReadFile(filepath.Join(out, "report.json"))
		json.Unmarshal(b, &rep)
		if r.code != c.code || string(rep.Verdict) != c.want || rep.Systems[0].Runner == nil || !rep.Systems[0].Runner.Pinned {
			t.Errorf("%s --against %s: exit %d, verdict %s, want %s; stderr %s", c.rec, c.against, r.code, rep.Verdict, c.want, r.err)
		}
	}
	attr := func(rec string, cands ...string) (counterfactual.AttributeReport, int) {
		out := filepath.Join(dir, "attr-"+rec)
		r := cli(t, "", S(append([]string{"attribute", path(rec), "--output", out, "--candidates"}, cands...)...)...)
		var rep counterfactual.AttributeReport
		b, _ := os.ReadFile(filepath.Join(out, "report.json"))
		json.Unmarshal(b, &rep)
		return rep, r.code
	}
	rep, code := attr("logged-241.json", path("system-2.4.1.json"), path("system-2.4.2.json"))
	if code != exitDiverged || len(rep.Set) != 1 || rep.Candidates[1].Version != "loan-approver 2.4.2" || !rep.Candidates[1].InSet || rep.Candidates[0].InSet {
		t.Errorf("attribute logged-241: exit %d, set %v, candidates %+v", code, rep.Set, rep.Candidates)
	}
	rep, code = attr("honest.json", path("system-2.4.2.json"))
	if code != exitOK || !rep.Candidates[0].InSet || rep.Candidates[0].Rank != 1 {
		t.Errorf("attribute honest: exit %d, set %v", code, rep.Set)
	}
}
