package replay

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// RunBar draws the progress of each record's runs on a terminal, one line
// redrawn in place: the runs done of the total, the rate (runs per
// second since the record's first run) and the ETA at that rate. A
// sequential replay's total is its cap (it may stop sooner), so its ETA is
// an upper bound, written "≤". Redraws are at most every RunBarEvery,
// and always at the last run.
type RunBar struct {
	w          io.Writer
	now        func() time.Time
	sequential bool

	mu    sync.Mutex
	open  bool // a line is drawn and not yet ended
	id    string
	start time.Time
	drawn time.Time
}

// RunBarEvery is the least time between two redraws of a RunBar.
const RunBarEvery = 100 * time.Millisecond

// NewRunBar returns a RunBar drawing on w (a terminal) with the clock now.
func NewRunBar(w io.Writer, now func() time.Time, sequential bool) *RunBar {
	return &RunBar{w: w, now: now, sequential: sequential}
}

// Record returns the progress callback of record id's runs (for
// Options.Progress); it ends the line of the record before.
func (b *RunBar) Record(id string) func(done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endLocked()
	b.id, b.start = id, b.now()
	return func(done, total int) { b.show(id, done, total) }
}

// End ends the line drawn, if any (before other output on the terminal).
func (b *RunBar) End() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endLocked()
}

func (b *RunBar) endLocked() {
	if b.open {
		fmt.Fprintln(b.w)
		b.open = false
	}
}

func (b *RunBar) show(id string, done, total int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id != b.id {
		return
	}
	now := b.now()
	if done < total && b.open && now.Sub(b.drawn) < RunBarEvery {
		return
	}
	b.drawn, b.open = now, true
	fmt.Fprintf(b.w, "\r%s: %d/%d runs  %s\x1b[K", id, done, total, RateETA(done, total-done, now.Sub(b.start), b.sequential))
	if done >= total {
		b.endLocked()
	}
}

// RateETA is "<rate> runs/s  ETA <left>": the rate of done runs in
// elapsed, and the time the left runs take at that rate, rounded to the
// second ("≤" before it when left is a cap, upper); "ETA ?" before a run
// is done or while no time has passed.
func RateETA(done, left int, elapsed time.Duration, upper bool) string {
	if done <= 0 || elapsed <= 0 {
		return "ETA ?"
	}
	rate := float64(done) / elapsed.Seconds()
	eta := time.Duration(float64(left) / rate * float64(time.Second)).Round(time.Second)
	bound := ""
	if upper && left > 0 {
		bound = "≤ "
	}
	return fmt.Sprintf("%s runs/s  ETA %s%s", formatRate(rate), bound, eta)
}

// formatRate writes a rate with three significant digits at most.
func formatRate(r float64) string {
	switch {
	case r >= 100:
		return fmt.Sprintf("%.0f", r)
	case r >= 10:
		return fmt.Sprintf("%.1f", r)
	}
	return fmt.Sprintf("%.2f", r)
}
