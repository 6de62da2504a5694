package nightly

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/verdict"
)

// DefaultOut is the output folder of a night begun at now (UTC date) when
// none is given: out/nightly-<date>, and -shard-<i>-of-<n> for a shard.
func DefaultOut(now time.Time, s Shard) string {
	out := filepath.Join("out", "nightly-"+now.UTC().Format("2006-01-02"))
	if s.N > 0 {
		out += fmt.Sprintf("-shard-%d-of-%d", s.I, s.N)
	}
	return out
}

// Publish writes the night's reports into out and, under GitHub Actions,
// its CI output: the Markdown summary appended to the file named by
// $GITHUB_STEP_SUMMARY when set, and ::error annotations written to w when
// $GITHUB_ACTIONS is "true". getenv reads the environment.
func (n *Night) Publish(out string, w io.Writer, getenv func(string) string) error {
	if err := n.WriteReports(out); err != nil {
		return err
	}
	if p := getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if err := appendFile(p, n.Markdown()); err != nil {
			return fmt.Errorf("GITHUB_STEP_SUMMARY: %w", err)
		}
	}
	if getenv("GITHUB_ACTIONS") == "true" {
		io.WriteString(w, n.Annotations())
	}
	return nil
}

// appendFile appends s to the file at path, creating it.
func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, werr := io.WriteString(f, s)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	return werr
}

// Brief is what `reprise nightly` prints of a night: the outcome, the
// summary, the output folder, the rate per system and the DIVERGED
// records.
type Brief struct {
	Out      string       `json:"out"`
	Outcome  string       `json:"outcome"`
	Reason   string       `json:"reason,omitempty"`
	Summary  string       `json:"summary"`
	Counts   Counts       `json:"counts"`
	Systems  []SystemRate `json:"systems"`
	Diverged []Result     `json:"diverged"`
}

// Brief is the night's Brief, its reports in out.
func (n *Night) Brief(out string) Brief {
	b := Brief{Out: out, Outcome: n.Outcome, Reason: n.Reason, Summary: n.Summary, Counts: n.Counts, Systems: n.Systems, Diverged: []Result{}}
	for _, r := range n.Records {
		if r.Verdict == verdict.Diverged {
			b.Diverged = append(b.Diverged, r)
		}
	}
	return b
}

// Text writes the brief for a terminal: the outcome, the summary, the
// reason (when the night has one), a line per system and one per DIVERGED
// record.
func (b Brief) Text(w io.Writer) error {
	fmt.Fprintf(w, "outcome: %s\n%s\n", b.Outcome, b.Summary)
	if b.Reason != "" {
		fmt.Fprintf(w, "why: %s\n", render.Terminal(b.Reason, false))
	}
	fmt.Fprintf(w, "reports: %s\n", b.Out)
	for _, s := range b.Systems {
		mark := ""
		if s.BelowMin {
			mark = "  BELOW MIN RATE"
		}
		if s.Fleet != nil && s.Fleet.Flagged {
			mark += "  SUBSTITUTION"
		}
		fmt.Fprintf(w, "  %s: %d/%d reproduced, rate %.3f [%.3f, %.3f], %d errors%s\n", render.Terminal(s.Name, false), s.Reproduced, s.Records, s.Rate, s.Lower, s.Upper, s.Errors, mark)
	}
	for _, d := range b.Diverged {
		if _, err := fmt.Fprintf(w, "DIVERGED %s (%s): %s\n", render.Terminal(d.RequestID, false), render.Terminal(d.SystemName, false), render.Terminal(d.Why, false)); err != nil {
			return err
		}
	}
	return nil
}
