package nightly

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/verdict"
)

// ProgressWriter shows a night's Progress on W (stderr): a bar redrawn in
// place when TTY, and otherwise a plain line about every tenth of the
// night. The ETA is the time per record replayed since Started (records
// found done in the journal aside) times the records left.
type ProgressWriter struct {
	W        io.Writer
	TTY      bool
	Now      func() time.Time
	Started  time.Time
	lastLine int
}

// NewProgressWriter returns a ProgressWriter; pass its Show as
// Options.Progress.
func NewProgressWriter(w io.Writer, tty bool, now func() time.Time, started time.Time) *ProgressWriter {
	return &ProgressWriter{W: w, TTY: tty, Now: now, Started: started, lastLine: -1}
}

// Show shows the progress after a record.
func (w *ProgressWriter) Show(p Progress) {
	c := p.Counts
	counts := fmt.Sprintf("REPRODUCED %d  DIVERGED %d  INCONCLUSIVE %d  ERROR %d",
		c[verdict.Reproduced], c[verdict.Diverged], c[verdict.Inconclusive], c[verdict.Failed])
	eta := w.eta(p)
	if w.TTY {
		const width = 30
		fill := 0
		if p.Total > 0 {
			fill = width * p.Done / p.Total
		}
		fmt.Fprintf(w.W, "\r[%s%s] %d/%d  %s  ETA %s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), p.Done, p.Total, counts, eta)
		if p.Done == p.Total {
			fmt.Fprintln(w.W)
		}
		return
	}
	step := max(1, p.Total/10)
	if line := p.Done / step; line != w.lastLine || p.Done == p.Total {
		w.lastLine = line
		fmt.Fprintf(w.W, "nightly: %d/%d records  %s  ETA %s\n", p.Done, p.Total, counts, eta)
	}
}

// eta is the time left, rounded to the second ("?" before a record was
// replayed).
func (w *ProgressWriter) eta(p Progress) string {
	fresh := p.Done - p.Resumed
	if fresh <= 0 {
		return "?"
	}
	per := w.Now().Sub(w.Started) / time.Duration(fresh)
	return (per * time.Duration(p.Total-p.Done)).Round(time.Second).String()
}
