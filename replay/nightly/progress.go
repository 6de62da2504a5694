package nightly

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/verdict"
)

// ProgressWriter shows a night's Progress on W (stderr): on a terminal
// (TTY) a bar redrawn in place, after each record and at most every
// RedrawEvery between, with the rate in runs per second, the ETA and the
// record with the most runs left in its stage (a confirming replay of
// thousands of runs shows as such); otherwise a plain line about every
// tenth of the night, after a record.
//
// The ETA is the time per run since Started times the runs left: those
// left in the stages being run (a sequential stage's cap), plus, for each
// record not begun, the mean runs of the records finished since Started.
// Before a record has finished, the records not begun are not counted
// and the ETA, a lower bound, is written "≥". With no run counted
// (Progress.Runs 0) it is the time per record times the records left.
type ProgressWriter struct {
	W        io.Writer
	TTY      bool
	Now      func() time.Time
	Started  time.Time
	lastLine int
	drawn    time.Time
}

// RedrawEvery is the least time between two redraws of the bar between
// records.
const RedrawEvery = 200 * time.Millisecond

// NewProgressWriter returns a ProgressWriter; pass its Show as
// Options.Progress.
func NewProgressWriter(w io.Writer, tty bool, now func() time.Time, started time.Time) *ProgressWriter {
	return &ProgressWriter{W: w, TTY: tty, Now: now, Started: started, lastLine: -1}
}

// Show shows the progress after a record (p.Finished) or a run.
func (w *ProgressWriter) Show(p Progress) {
	c := p.Counts
	counts := fmt.Sprintf("REPRODUCED %d  DIVERGED %d  INCONCLUSIVE %d  ERROR %d",
		c[verdict.Reproduced], c[verdict.Diverged], c[verdict.Inconclusive], c[verdict.Failed])
	now := w.Now()
	elapsed := now.Sub(w.Started)
	eta, lower := w.eta(p, elapsed)
	if w.TTY {
		if !p.Finished && p.Done < p.Total && now.Sub(w.drawn) < RedrawEvery && !w.drawn.IsZero() {
			return
		}
		w.drawn = now
		const width = 30
		fill := 0
		if p.Total > 0 {
			fill = width * p.Done / p.Total
		}
		bound := ""
		if lower {
			bound = "≥ "
		}
		fmt.Fprintf(w.W, "\r[%s%s] %d/%d  %s%s  ETA %s%s%s\x1b[K", strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.Done, p.Total, counts,
			rate(p.Runs, elapsed), bound, eta, longestStage(p.Active))
		if p.Done == p.Total {
			fmt.Fprintln(w.W)
		}
		return
	}
	if !p.Finished && p.Runs > 0 {
		return // a run: lines are drawn after records
	}
	step := max(1, p.Total/10)
	if line := p.Done / step; line != w.lastLine || p.Done == p.Total {
		w.lastLine = line
		fmt.Fprintf(w.W, "nightly: %d/%d records  %s  ETA %s\n", p.Done, p.Total, counts, eta)
	}
}

// rate is "  <runs per second> runs/s", or "" before a run.
func rate(runs int, elapsed time.Duration) string {
	if runs <= 0 || elapsed <= 0 {
		return ""
	}
	return fmt.Sprintf("  %.3g runs/s", float64(runs)/elapsed.Seconds())
}

// longestStage is "  <stage> <request id> <done>/<total>" of the active
// record with the most runs left in its stage, or "" when none.
func longestStage(active []Stage) string {
	var best *Stage
	for i := range active {
		if s := &active[i]; best == nil || s.Total-s.Done > best.Total-best.Done {
			best = s
		}
	}
	if best == nil {
		return ""
	}
	return fmt.Sprintf("  %s %s %d/%d", best.Name, render.Terminal(best.RequestID, false), best.Done, best.Total)
}

// eta is the time left, rounded to the second ("?" before anything was
// replayed), and whether it is a lower bound (see ProgressWriter).
func (w *ProgressWriter) eta(p Progress, elapsed time.Duration) (string, bool) {
	fresh := p.Done - p.Resumed
	if p.Runs <= 0 {
		if fresh <= 0 {
			return "?", false
		}
		per := elapsed / time.Duration(fresh)
		return (per * time.Duration(p.Total-p.Done)).Round(time.Second).String(), false
	}
	left := 0
	for _, s := range p.Active {
		left += max(s.Total-s.Done, 0)
	}
	lower := false
	if notBegun := p.Total - p.Done - len(p.Active); notBegun > 0 {
		if fresh > 0 {
			left += notBegun * p.FinishedRuns / fresh
		} else {
			lower = true
		}
	}
	per := float64(elapsed) / float64(p.Runs)
	return time.Duration(per * float64(left)).Round(time.Second).String(), lower
}
