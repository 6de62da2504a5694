package compare

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/verdict"
)

// TestComparePlantedFlips: over 200 records of which every 20th is planted
// (B denies where A approves, each with probability 0.9), the comparison is
// DIFFERENT, at least 9 of the 10 planted records are significant (20
// runs a system give a record's Fisher test limited power), no other record
// is significant or flips, the remediation list is the planted records B
// would not decide as stored, and the flip share's interval holds the
// planted share. Every seed is pinned: the outcome is fixed.
func TestComparePlantedFlips(t *testing.T) {
	fx := newFixture(t, 200, 20)
	fr := &fakeRunner{plantEvery: 20}
	c, err := Run(context.Background(), fx.st, fx.options(t.TempDir(), fr))
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != Different || c.Outcome != OutcomeDifferent {
		t.Errorf("verdict %s (%s), want DIFFERENT: %s", c.Verdict, c.Outcome, c.Summary)
	}
	if fr.starts.Load() != 2 || fr.closed.Load() != 2 {
		t.Errorf("%d sessions started, %d closed, want one per system (2)", fr.starts.Load(), fr.closed.Load())
	}
	listed := map[string]bool{}
	for _, id := range c.Remediation {
		listed[id] = true
	}
	found, false_ := 0, 0
	for _, d := range c.Decisions {
		if d.Significant && fx.planted[d.RequestID] {
			found++
		}
		if d.Significant && !fx.planted[d.RequestID] || d.Flip && !fx.planted[d.RequestID] {
			false_++
			t.Errorf("unplanted %s: significant %v (q %.3g), flip %v; counts %v %v", d.RequestID, d.Significant, *d.QValue, d.Flip, d.A, d.B)
		}
		// A record is to remediate when the rollout changed it and B
		// would not decide as stored.
		if want := fx.planted[d.RequestID] && (d.Flip || d.Significant) && d.BMode != *d.Stored; listed[d.RequestID] != want {
			t.Errorf("%s listed %v, want %v (planted %v, stored %s, B %s)", d.RequestID, listed[d.RequestID], want, fx.planted[d.RequestID], *d.Stored, d.BMode)
		}
	}
	t.Logf("%d of %d planted records significant, %d false; %s", found, len(fx.planted), false_, c.Summary)
	if found < 9 {
		t.Errorf("%d of the 10 planted records significant, want at least 9", found)
	}
	if c.Counts.Flips != 10 || c.FlipShare.Lower > 0.05 || c.FlipShare.Upper < 0.05 {
		t.Errorf("%d flips, share %+v, want 10 and an interval holding 0.05", c.Counts.Flips, c.FlipShare)
	}
	if c.Permutation.PValue > 0.001 || c.McNemar == nil || c.McNemar.PValue > 0.05 || c.McNemar.B < 8 {
		t.Errorf("permutation %+v, McNemar %+v: want both small, agreement lost on 8 or more", c.Permutation, c.McNemar)
	}
	top := c.Remediation[0]
	if d := c.byID()[top]; d.DiffersStored.P < 0.7 || d.BMode != "denied" {
		t.Errorf("top of the remediation list %s: %+v", top, d)
	}
}

// TestCompareSameSystem: A against itself is SAME (the paired test does
// not reject, no modal decision flips, so the flip share's upper bound is
// below the margin) with one session.
func TestCompareSameSystem(t *testing.T) {
	fx := newFixture(t, 200, 0)
	fr := &fakeRunner{}
	o := fx.options(t.TempDir(), fr)
	o.B = o.A
	c, err := Run(context.Background(), fx.st, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != Same || c.Counts.Flips != 0 || len(c.Remediation) != 0 || c.Permutation.PValue <= 0.05 {
		t.Errorf("verdict %s, %d flips, remediation %v, p %g: want SAME, none", c.Verdict, c.Counts.Flips, c.Remediation, c.Permutation.PValue)
	}
	if fr.starts.Load() != 1 {
		t.Errorf("%d sessions for one system, want 1", fr.starts.Load())
	}
}

// TestCompareInconclusiveSmall: too few records for SAME's margin.
func TestCompareInconclusiveSmall(t *testing.T) {
	fx := newFixture(t, 20, 0)
	o := fx.options(t.TempDir(), &fakeRunner{})
	o.B = o.A
	c, err := Run(context.Background(), fx.st, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Verdict != verdict.Inconclusive || c.Reason == "" {
		t.Errorf("verdict %s (%q), want INCONCLUSIVE with a reason", c.Verdict, c.Reason)
	}
}

// TestCompareResume: a comparison interrupted after 7 records continues
// and ends as an uninterrupted one; another comparison in the same folder
// is refused.
func TestCompareResume(t *testing.T) {
	fx := newFixture(t, 40, 10)
	want, err := Run(context.Background(), fx.st, fx.options(t.TempDir(), &fakeRunner{plantEvery: 10}))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	o := fx.options(out, &fakeRunner{plantEvery: 10})
	o.Progress = func(done, _ int) {
		if done == 7 {
			cancel()
		}
	}
	if _, err := Run(ctx, fx.st, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	fr := &fakeRunner{plantEvery: 10}
	o.Progress = nil
	o.NewRunner = fx.options(out, fr).NewRunner
	got, err := Run(context.Background(), fx.st, o)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Decisions, want.Decisions) || got.Permutation != want.Permutation || got.Verdict != want.Verdict {
		t.Errorf("resumed comparison differs from the uninterrupted one")
	}
	o.N = 30
	if _, err := Run(context.Background(), fx.st, o); !errors.Is(err, ErrOther) {
		t.Errorf("another -n in the same folder: %v, want ErrOther", err)
	}
}

// TestCompareShards: shards 0/3, 1/3, 2/3 merge into the unsharded
// comparison; a missing shard is refused.
func TestCompareShards(t *testing.T) {
	fx := newFixture(t, 60, 10)
	want, err := Run(context.Background(), fx.st, fx.options(t.TempDir(), &fakeRunner{plantEvery: 10}))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	total := 0
	for i := range 3 {
		o := fx.options(filepath.Join(t.TempDir(), "s"), &fakeRunner{plantEvery: 10})
		o.Shard = nightly.Shard{I: i, N: 3}
		c, err := Run(context.Background(), fx.st, o)
		if err != nil {
			t.Fatal(err)
		}
		total += len(c.Decisions)
		dirs = append(dirs, o.Out)
	}
	if total != 60 {
		t.Fatalf("shards hold %d records, want 60", total)
	}
	got, err := Merge(dirs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Decisions, want.Decisions) || got.Permutation != want.Permutation || got.Verdict != want.Verdict {
		t.Errorf("merged shards differ from the unsharded comparison: %s vs %s", got.Summary, want.Summary)
	}
	if _, err := Merge(dirs[:2]); !errors.Is(err, ErrShards) {
		t.Errorf("two of three shards: %v, want ErrShards", err)
	}
}

// TestCompareReports: the four reports are written and report.json
// decodes to the comparison's verdict and remediation list.
func TestCompareReports(t *testing.T) {
	fx := newFixture(t, 40, 10)
	c, err := Run(context.Background(), fx.st, fx.options(t.TempDir(), &fakeRunner{plantEvery: 10}))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := c.WriteReports(dir); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, ReportJSON))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Schema      string   `json:"schema"`
		Verdict     string   `json:"verdict"`
		Remediation []string `json:"remediation"`
	}
	if err := json.Unmarshal(b, &rep); err != nil || rep.Schema != ReportSchema || rep.Verdict != string(c.Verdict) || !reflect.DeepEqual(rep.Remediation, c.Remediation) {
		t.Errorf("report.json: %+v, %v", rep, err)
	}
	for _, f := range []string{ResultsParquet, SummaryMD, ReportHTML} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	h, _ := os.ReadFile(filepath.Join(dir, ReportHTML))
	if !contains(string(h), "<svg") || !contains(string(h), "#BB0000") && !contains(string(h), "rgb(73.33%,0%,0%)") {
		t.Errorf("report.html has no flip plot with significant records marked")
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub))
}

// TestCompareRecordError: a record whose input is not in the store is an
// integrity error of that record (journaled, in the reports); the others
// are compared, and the outcome is "error" of class integrity when B is
// not DIFFERENT.
func TestCompareRecordError(t *testing.T) {
	fx := newFixtureMissing(t, 200, 0, 5)
	o := fx.options(t.TempDir(), &fakeRunner{})
	o.B = o.A
	c, err := Run(context.Background(), fx.st, o)
	if err != nil {
		t.Fatal(err)
	}
	if c.Counts.Errors != 1 || c.Counts.Compared != 199 || c.Outcome != OutcomeError || c.ErrorClass != "integrity" || c.Verdict != Same {
		t.Errorf("counts %+v, outcome %s (%s), verdict %s: want 1 integrity error, 199 compared, SAME", c.Counts, c.Outcome, c.ErrorClass, c.Verdict)
	}
	d := c.byID()["req_0005"]
	if d.Error == "" || d.PValue != nil {
		t.Errorf("req_0005: %+v, want an error and no test", d)
	}
}
