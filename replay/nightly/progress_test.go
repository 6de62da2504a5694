package nightly

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestProgressETAConfirming: while the last record's confirming replay
// runs, the ETA is its runs left at the night's rate, not 0s; the bar
// names the stage and the rate; before any record finished the ETA is a
// lower bound.
func TestProgressETAConfirming(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	started := c.t
	var b bytes.Buffer
	w := NewProgressWriter(&b, true, c.now, started)
	counts := map[verdict.Verdict]int{verdict.Reproduced: 9}
	// 10 s for 9 records of 100 runs each and 100 runs of the last one's
	// 20,000-run second confirming stage: 1000 runs, 10 ms per run.
	c.t = started.Add(10 * time.Second)
	w.Show(Progress{Done: 9, Total: 10, Counts: counts, Runs: 1000, FinishedRuns: 900,
		Active: []Stage{{RequestID: "req_9", Name: stageConfirm(1), Done: 100, Total: 20000}}})
	got := b.String()
	for _, want := range []string{"9/10", "100 runs/s", "ETA 3m19s", "confirming 2/2 req_9 100/20000"} {
		if !strings.Contains(got, want) {
			t.Errorf("bar %q lacks %q", got, want)
		}
	}
	// Within RedrawEvery of the last draw, a run draws nothing.
	b.Reset()
	c.t = c.t.Add(RedrawEvery / 2)
	w.Show(Progress{Done: 9, Total: 10, Counts: counts, Runs: 1001, FinishedRuns: 900, Active: []Stage{{RequestID: "req_9", Name: stageConfirm(1), Done: 101, Total: 20000}}})
	if b.Len() != 0 {
		t.Errorf("redrawn within %s: %q", RedrawEvery, b.String())
	}
	// No record finished yet: the records not begun cannot be estimated,
	// the ETA is at least the active stage's runs left.
	b.Reset()
	c.t = started.Add(time.Second)
	w2 := NewProgressWriter(&b, true, c.now, started)
	w2.Show(Progress{Done: 0, Total: 10, Counts: map[verdict.Verdict]int{}, Runs: 100, Active: []Stage{{RequestID: "req_0", Name: stageReplay, Done: 100, Total: 1000, Sequential: true}}})
	if !strings.Contains(b.String(), "ETA ≥ 9s") {
		t.Errorf("bar %q: want a lower bound of 9s (900 runs at 100 runs/s)", b.String())
	}
	// Not a terminal: runs draw nothing; a record draws a line.
	b.Reset()
	w3 := NewProgressWriter(&b, false, c.now, started)
	w3.Show(Progress{Done: 0, Total: 10, Runs: 5, Counts: map[verdict.Verdict]int{}})
	w3.Show(Progress{Done: 1, Total: 10, Runs: 100, FinishedRuns: 100, Finished: true, Counts: map[verdict.Verdict]int{verdict.Reproduced: 1}})
	if got := b.String(); got != "nightly: 1/10 records  REPRODUCED 1  DIVERGED 0  INCONCLUSIVE 0  ERROR 0  ETA 9s\n" {
		t.Errorf("lines %q", got)
	}
}

// TestNightProgressStages: a sequential night reports each record's runs,
// its confirming stages among them, and counts every run once.
func TestNightProgressStages(t *testing.T) {
	st := store.NewMem()
	log, planted := writeLog(t, st, 1, 20)
	fr := &fakeRunner{}
	o := options(log, t.TempDir(), fr)
	o.Parallel = 1
	o.Replay.Sequential, o.Replay.MaxRuns, o.ConfirmN = true, 200, 100
	var mu sync.Mutex
	stages := map[string]bool{}
	var last Progress
	finished := 0
	o.Progress = func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range p.Active {
			stages[s.Name] = true
			if s.Done > s.Total {
				t.Errorf("stage %+v: done past total", s)
			}
		}
		if p.Finished {
			finished++
		}
		last = p
	}
	if _, err := Run(context.Background(), st, o); err != nil {
		t.Fatal(err)
	}
	if !stages[stageReplay] || !stages[stageConfirm(0)] || len(planted) == 0 {
		t.Errorf("stages seen %v, want replay and %s", stages, stageConfirm(0))
	}
	if finished != 20 || !last.Finished || last.Done != 20 || len(last.Active) != 0 {
		t.Errorf("%d records finished, last progress %+v", finished, last)
	}
	if got := int64(last.Runs); got != fr.runs.Load() || last.FinishedRuns != last.Runs {
		t.Errorf("progress counted %d runs (%d of finished records), the runner made %d", last.Runs, last.FinishedRuns, fr.runs.Load())
	}
}
