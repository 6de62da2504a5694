package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/verdict"
)

func sources(recs ...*record.Record) iter.Seq[Source] {
	return func(yield func(Source) bool) {
		for _, r := range recs {
			if !yield(Source{Name: r.RequestID + ".json", Load: func() (*record.Record, error) { return r, nil }}) {
				return
			}
		}
	}
}

func TestBatchPolicy(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied", "referred"}, probs: []float64{0.8, 0.15, 0.05}, failAt: -1}
	l42, p42 := (&fakeSession{sys: sys}).answer(42)
	st, good := newRecord(t, sys, 42, l42, p42)
	bad := *good
	bad.RequestID = "req_bad"
	bad.Input.Digest = digest.FromBytes([]byte("not in the store"))

	out := t.TempDir()
	runnerMade := 0
	opts := BatchOptions{
		Options: Options{N: 20, Launch: launch.Options{HostClass: hw}},
		Out:     out,
		NewRunner: func(context.Context) (Runner, error) {
			runnerMade++
			return sys, nil
		},
	}
	var got []Outcome
	Batch(context.Background(), st, sources(&bad, good), opts, func(o Outcome) bool { got = append(got, o); return true })
	if len(got) != 2 {
		t.Fatalf("%d outcomes", len(got))
	}
	if !errors.Is(got[0].Err, ErrIntegrity) || got[0].Verdict != verdict.Failed || got[0].Reports != "" {
		t.Fatalf("bad record: %+v", got[0])
	}
	if got[1].Err != nil || got[1].Verdict != verdict.Reproduced || got[1].Reports != filepath.Join(out, "req_test") {
		t.Fatalf("good record: %+v", got[1])
	}
	for _, f := range []string{"report.json", "report.md", "runs.parquet"} {
		if _, err := os.Stat(filepath.Join(got[1].Reports, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(got[1].Reports, JournalName)); !os.IsNotExist(err) {
		t.Errorf("journal left after a finished replay: %v", err)
	}
	if runnerMade != 1 || sys.starts != 1 {
		t.Fatalf("runner made %d times, %d sessions", runnerMade, sys.starts)
	}

	// An integrity failure needs no engine: no runner is made at all.
	runnerMade = 0
	Batch(context.Background(), st, sources(&bad), opts, func(Outcome) bool { return true })
	if runnerMade != 0 {
		t.Fatal("a runner was made for a batch that failed integrity")
	}
}

func TestReportsDir(t *testing.T) {
	cases := []struct {
		out    string
		single bool
		want   string
	}{
		{"", true, filepath.Join("out", "req_x")},
		{"", false, filepath.Join("out", "req_x")},
		{"dir", true, "dir"},
		{"dir", false, filepath.Join("dir", "req_x")},
	}
	for _, c := range cases {
		o := BatchOptions{Out: c.out, Single: c.single}
		if got := o.ReportsDir("req_x"); got != c.want {
			t.Errorf("ReportsDir(%q, single %v) = %s, want %s", c.out, c.single, got, c.want)
		}
	}
}

// startFails is a system whose sessions never start (a server never ready
// within the start timeout).
type startFails struct{ err error }

func (s startFails) Start(context.Context, runners.Spec) (runners.Session, error) { return nil, s.err }

// TestBatchSessionNeverStarts: a system that never starts still gets its
// reports (report.json and report.md with the error, an empty
// runs.parquet), not only the folder's lock file.
func TestBatchSessionNeverStarts(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.8, 0.2}, failAt: -1}
	l42, p42 := (&fakeSession{sys: sys}).answer(42)
	st, rec := newRecord(t, sys, 42, l42, p42)
	never := fmt.Errorf("%w: the server not ready within the start timeout 3s (raise it with --start-timeout); last answer: GET /v1/models answered 200 with no model", runners.ErrTimeout)
	out := t.TempDir()
	opts := BatchOptions{Options: Options{N: 20, Launch: launch.Options{HostClass: hw}}, Out: out,
		NewRunner: func(context.Context) (Runner, error) { return startFails{never}, nil }}
	var got []Outcome
	Batch(context.Background(), st, sources(rec), opts, func(o Outcome) bool { got = append(got, o); return true })
	if len(got) != 1 || !errors.Is(got[0].Err, runners.ErrTimeout) || got[0].Verdict != verdict.Failed || got[0].Reports != filepath.Join(out, rec.RequestID) {
		t.Fatalf("outcome: %+v", got)
	}
	b, err := os.ReadFile(filepath.Join(got[0].Reports, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Verdict != verdict.Failed || !strings.Contains(rep.Error, "--start-timeout") || !strings.Contains(rep.Error, "200 with no model") {
		t.Errorf("report.json: verdict %s, error %q", rep.Verdict, rep.Error)
	}
	md, _ := os.ReadFile(filepath.Join(got[0].Reports, "report.md"))
	if !strings.Contains(string(md), "--start-timeout") {
		t.Errorf("report.md lacks the error:\n%s", md)
	}
	if runs, err := ReadRuns(filepath.Join(got[0].Reports, "runs.parquet")); err != nil || len(runs) != 0 {
		t.Errorf("runs.parquet: %d rows, %v", len(runs), err)
	}
	if _, err := os.Stat(filepath.Join(got[0].Reports, JournalName)); !os.IsNotExist(err) {
		t.Errorf("journal left: %v", err)
	}
}
