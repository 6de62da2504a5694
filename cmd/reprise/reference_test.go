package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

// TestReferenceRunsEndToEnd: record create --capture --reference-runs K
// against the fixture loan server in Docker keeps K reference outputs as a
// blob the record points at; a sequential replay compares its replays with
// them (the reference checks in report.json and report.md) and calls the
// honest record REPRODUCED; the same stored decision and references under
// the other model version are not reproduced; a tampered reference blob is
// an integrity failure (exit 4) before anything runs.
//
// Every source of randomness is pinned: the capture's and the replay's
// noise streams (REPRISE_FIXTURE_NOISE_SEED), the reference runs' seeds
// (derived from the request id) and the replay seed, so each verdict is
// fixed, not a draw.
func TestReferenceRunsEndToEnd(t *testing.T) {
	_, img := fixtureImage(t)
	st := filepath.Join(t.TempDir(), "store")
	// The kernel noise makes the pinned seed miss the stored score by a
	// hair, so the verdict rests on the behavioral and reference checks.
	const k = 1000
	rec := captureRec(t, st, img, "2.4.1", "req_ref", "--reference-runs", "1000",
		"--env", "REPRISE_FIXTURE_NOISE=1e-9", "--env", "REPRISE_FIXTURE_NOISE_SEED=1")
	m := readRecord(t, rec)
	ref, _ := m["reference"].(map[string]any)
	d, _ := ref["digest"].(string)
	if ref == nil || ref["runs"] != float64(k) || !strings.HasPrefix(d, "sha256:") {
		t.Fatalf("record's reference: %v", m["reference"])
	}
	blobPath := filepath.Join(st, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	blob, err := os.ReadFile(blobPath)
	if err != nil {
		t.Fatalf("the reference blob is not in the store: %v", err)
	}
	outs, err := record.DecodeReference(blob)
	if err != nil || len(outs) != k || outs[0].Label == nil || outs[0].Score == nil {
		t.Fatalf("reference blob: %d outputs, %v", len(outs), err)
	}

	replayRec := func(t *testing.T, path string) (cliResult, *replay.Report, string) {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		r := cli(t, "", "--store", st, "replay", path, "--replay-seed", "7", "--output", out,
			"--env", "REPRISE_FIXTURE_NOISE=1e-9", "--env", "REPRISE_FIXTURE_NOISE_SEED=2")
		var rep replay.Report
		b, err := os.ReadFile(filepath.Join(out, "report.json"))
		if err != nil || json.Unmarshal(b, &rep) != nil {
			t.Fatalf("report.json: %v (exit %d, %s)", err, r.code, r.err)
		}
		md, _ := os.ReadFile(filepath.Join(out, "report.md"))
		return r, &rep, string(md)
	}
	refTests := func(rep *replay.Report) map[string]verdict.TestResult {
		got := map[string]verdict.TestResult{}
		for _, tr := range rep.Tests {
			if strings.HasPrefix(tr.Name, "reference_") {
				got[tr.Name] = tr
			}
		}
		return got
	}

	t.Run("honest replay", func(t *testing.T) {
		r, rep, md := replayRec(t, rec)
		if r.code != 0 || rep.Verdict != verdict.Reproduced || rep.Basis != "behavioral" {
			t.Fatalf("exit %d, verdict %s (%s)\n%s\n%s", r.code, rep.Verdict, rep.Basis, r.out, strings.Join(rep.Reasons, "\n"))
		}
		got := refTests(rep)
		for _, name := range []string{"reference_labels", "reference_scores"} {
			tr, ok := got[name]
			if !ok || tr.N == nil || *tr.N != k || tr.Interval == nil || !(tr.Interval.Upper < rep.Replay.Margin) {
				t.Fatalf("%s in report.json: %+v (margin %g)", name, tr, rep.Replay.Margin)
			}
		}
		if !strings.Contains(md, `| reference\_labels |`) || !strings.Contains(md, `| reference\_scores |`) ||
			!strings.Contains(md, "compared with the record's 1000 reference outputs") || !strings.Contains(md, "equivalent") {
			t.Fatalf("report.md has no reference section:\n%s", md)
		}
	})

	t.Run("other model version", func(t *testing.T) {
		// The same stored decision and reference outputs, in a record that
		// pins model 2.4.2: what a replay sees once the deployed model changed.
		out := m["output"].(map[string]any)
		other := filepath.Join(t.TempDir(), "other.json")
		if r := cli(t, "", "--store", st, "record", "create", "--image", img, "--input", fx("inputs", "application-demo.json"),
			"--model", fx("models", "loan-approver-2.4.2.safetensors"), "--config", fx("configs", "loan-params-3.json"),
			"--label", out["label"].(string), "--score", jsonNum(out["score"]), "--request-id", "req_ref_242", "-o", other); r.code != 0 {
			t.Fatalf("record create: exit %d: %s", r.code, r.err)
		}
		om := readRecord(t, other)
		om["reference"] = m["reference"]
		b, _ := json.MarshalIndent(om, "", "  ")
		if err := os.WriteFile(other, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, rep, _ := replayRec(t, other)
		got := refTests(rep)
		differ := false
		for _, tr := range got {
			differ = differ || (tr.Rejected != nil && *tr.Rejected)
		}
		notEquivalent := rep.Verdict == verdict.Inconclusive && strings.Contains(strings.Join(rep.Reasons, "\n"), "equivalence not shown")
		if rep.Verdict == verdict.Reproduced || !(rep.Verdict == verdict.Diverged && r.code == 1 && differ || notEquivalent && r.code == 3) {
			t.Fatalf("under 2.4.2: exit %d, verdict %s, reference tests %+v\n%s", r.code, rep.Verdict, got, strings.Join(rep.Reasons, "\n"))
		}
		t.Logf("under 2.4.2: %s after %d runs (%s)", rep.Verdict, rep.Replay.N, rep.Replay.Stopped)
	})

	t.Run("tampered reference blob", func(t *testing.T) {
		os.Chmod(blobPath, 0o644)
		if err := os.WriteFile(blobPath, []byte(`{"label":"approved","score":0.5}`+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		// An unreachable engine: had the replay touched it, the exit would be 5.
		t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
		r := cli(t, "", "--store", st, "replay", rec, "--output", filepath.Join(t.TempDir(), "o"))
		if r.code != 4 || !strings.Contains(r.err, "reference") {
			t.Fatalf("exit %d, stderr %s", r.code, r.err)
		}
	})
}
