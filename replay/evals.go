package replay

import (
	"fmt"
	"strings"

	"github.com/reprise-dev/reprise/verdict"
)

// EvalSection is the report's eval section: the pinned suite run again on
// the replay's session and compared, paired per item, with the stored run
// of the record's system on it.
type EvalSection struct {
	Suite        string `json:"suite"`
	SuiteName    string `json:"suite_name"`
	SuiteVersion string `json:"suite_version"`
	// BaselineRun is the stored run reproduced; Run the new one (stored).
	BaselineRun string `json:"baseline_run"`
	Run         string `json:"run"`
	RunSeed     int64  `json:"run_seed"`
	Epochs      int    `json:"epochs"`
	Items       int    `json:"items"`
	// MeanBaseline and MeanReplay are the mean scores over the paired
	// items; Diff = MeanReplay − MeanBaseline, [Lower, Upper] its 1 − 2·Level
	// paired t interval, which the TOST decides with.
	MeanBaseline float64 `json:"mean_baseline"`
	MeanReplay   float64 `json:"mean_replay"`
	Diff         float64 `json:"mean_diff"`
	Lower        float64 `json:"diff_lower"`
	Upper        float64 `json:"diff_upper"`
	Margin       float64 `json:"margin"`
	// Level is the eval check's share of the record's alpha; TOSTP the
	// TOST's p-value (equivalent when below Level).
	Level float64 `json:"level"`
	TOSTP float64 `json:"tost_p"`
	// Test and PValue are the paired difference test (McNemar for 0/1
	// scores, else Wilcoxon signed rank), reported, not decided on.
	Test     string          `json:"test"`
	PValue   float64         `json:"p_value"`
	Flipped  []EvalFlip      `json:"flipped"`
	Verdict  verdict.Verdict `json:"verdict"`
	Warnings []string        `json:"warnings,omitempty"`
	RunsMS   float64         `json:"runs_ms"`
}

// EvalFlip is an item that passed in one run and failed in the other (per-item
// mean ≥ 0.5 is a pass): A in the stored run, B in the replayed one.
type EvalFlip struct {
	Item string  `json:"item"`
	A    float64 `json:"a"`
	B    float64 `json:"b"`
}

// writeEvalSection renders the eval section of report.md.
func writeEvalSection(b *strings.Builder, ev *EvalSection) {
	e, code := mdEscape, mdCode
	fmt.Fprintf(b, "## Eval suite: %s\n\n", e(string(ev.Verdict)))
	fmt.Fprintf(b, "Suite %s %s (%s), run again on this replay's session: %d items × %d epochs, run seed %d, %.0f ms.\n\n",
		e(ev.SuiteName), e(ev.SuiteVersion), code(ev.Suite), ev.Items, ev.Epochs, ev.RunSeed, ev.RunsMS)
	b.WriteString("| | run | mean score |\n|---|---|---:|\n")
	fmt.Fprintf(b, "| stored (baseline) | %s | %.4f |\n| replayed | %s | %.4f |\n\n", code(ev.BaselineRun), ev.MeanBaseline, code(ev.Run), ev.MeanReplay)
	fmt.Fprintf(b, "Difference %+.4f, %.4g paired t interval [%.4f, %.4f], margin ±%g: TOST p = %.4g (level %.4g, the eval check's share of alpha). %s: p = %.4g.\n\n",
		ev.Diff, 1-2*ev.Level, ev.Lower, ev.Upper, ev.Margin, ev.TOSTP, ev.Level, e(ev.Test), ev.PValue)
	if len(ev.Flipped) == 0 {
		b.WriteString("No item flipped.\n\n")
	} else {
		b.WriteString("| flipped item | stored | replayed |\n|---|---:|---:|\n")
		for _, f := range ev.Flipped {
			fmt.Fprintf(b, "| %s | %.3f | %.3f |\n", e(f.Item), f.A, f.B)
		}
		b.WriteString("\n")
	}
	for _, w := range ev.Warnings {
		fmt.Fprintf(b, "- warning: %s\n", e(w))
	}
	if len(ev.Warnings) > 0 {
		b.WriteString("\n")
	}
}
