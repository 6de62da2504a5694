package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/evals"
)

// textSystem writes the system file of text-story version v (protocol
// openai) into st's folder.
func textSystem(t *testing.T, st, img, v string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "text-"+v+".json")
	if r := cli(t, "", "--store", st, "system", "create", "--protocol", "openai", "--image", img,
		"--model", fx("models", "text-story-"+v+".txt"), "--model-version", v, "--config", fx("configs", "text-params-1.json"), "-o", f); r.code != 0 {
		t.Fatalf("system create: %d %s", r.code, r.err)
	}
	return f
}

// textEvals runs the reference-answer suites text-v1 and text-v2 over the
// OpenAI API with the runner flags of each version (run 1.0 and 1.1 on v1,
// compare, rescore 1.0's run onto v2). Every run seed is pinned (--run-seed
// 1), so the scores are fixed.
func textEvals(t *testing.T, img string, runner map[string][]string) {
	st := filepath.Join(t.TempDir(), "store")
	run := func(v string, args ...string) (res evals.RunResult) {
		t.Helper()
		r := cli(t, "", append(append([]string{"--store", st}, args...), append(runner[v], "--format", "json")...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d %s", args, r.code, r.err)
		}
		if err := json.Unmarshal([]byte(r.out), &res); err != nil {
			var rs []evals.RunResult // rescore prints a list
			if json.Unmarshal([]byte(r.out), &rs) != nil || len(rs) != 1 {
				t.Fatalf("%v: %v\n%s", args, err, r.out)
			}
			res = rs[0]
		}
		return res
	}
	v1, v2 := fx("suites", "text-v1"), fx("suites", "text-v2")
	s10, s11 := textSystem(t, st, img, "1.0"), textSystem(t, st, img, "1.1")
	a := run("1.0", "evals", "run", "--suite", v1, "--system", s10, "-k", "3", "--run-seed", "1")
	b := run("1.1", "evals", "run", "--suite", v1, "--system", s11, "-k", "3", "--run-seed", "1")
	tag := func(r evals.RunResult, name string) float64 {
		for _, x := range r.Summary.ByTag {
			if x.Tag == name {
				return x.Mean
			}
		}
		t.Fatalf("no tag %s in %+v", name, r.Summary)
		return 0
	}
	// The references are text-story 1.0's greedy continuations: 1.0 gives
	// them back exactly at temperature 0 (token F1 1), 1.1 (another corpus)
	// does not.
	if a.Summary.Items != 10 || a.Summary.Rows != 30 || tag(a, "greedy") != 1 || !(tag(a, "sampled") < 1) ||
		!(b.Summary.Mean < a.Summary.Mean-0.3) || a.Summary.Errors != 0 || b.Summary.Errors != 0 {
		t.Fatalf("1.0 %+v\n1.1 %+v", a.Summary, b.Summary)
	}
	t.Logf("mean token F1 on v1: 1.0 %.4f, 1.1 %.4f", a.Summary.Mean, b.Summary.Mean)
	r := cli(t, "", "--store", st, "evals", "compare", a.Run.String(), b.Run.String(), "--format", "json")
	var c struct {
		Test    string
		Flipped []struct{ Item string }
	}
	if r.code != 0 || json.Unmarshal([]byte(r.out), &c) != nil || !strings.HasPrefix(c.Test, "Wilcoxon") || len(c.Flipped) == 0 {
		t.Fatalf("compare: %d %s %s", r.code, r.out, r.err)
	}
	// v2: txt-01..03 and 06..09 unchanged and txt-05 (a second reference)
	// re-scored; txt-04 (input changed), txt-11 and txt-12 (new) run.
	d := run("1.0", "evals", "rescore", "--suite", v2, "--results", a.Run.String())
	if d.Rescored != 8 || d.ItemsRun != 3 || d.Summary.Items != 11 || tag(d, "greedy") != 1 {
		t.Fatalf("rescore %+v", d)
	}
}

// TestEvalsTextEndpoint runs the text suites against the fixture text
// server's handler (textgen) on a local HTTP server per model version.
func TestEvalsTextEndpoint(t *testing.T) {
	runner := map[string][]string{}
	for _, v := range []string{"1.0", "1.1"} {
		runner[v] = []string{"--runner", "endpoint", "--url", textServer(t, v).URL}
	}
	textEvals(t, "sha256:"+strings.Repeat("1", 64), runner)
}

// TestEvalsTextDocker runs them on the fixture text server image in the
// sandbox (an internal network, one container per run).
func TestEvalsTextDocker(t *testing.T) {
	img := textImage(t)
	docker := []string{"--runner", "docker"}
	textEvals(t, img, map[string][]string{"1.0": docker, "1.1": docker})
}
