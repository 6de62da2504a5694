package replay

import (
	"context"
	"errors"
	"iter"
	"os"
	"path/filepath"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
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
