package replay

import (
	"fmt"
	"strings"

	"github.com/reprise-dev/reprise/verdict"
)

// EvalSection is the report's eval section (verdict.EvalSection).
type EvalSection = verdict.EvalSection

// EvalFlip is a flipped item of the eval section (verdict.EvalFlip).
type EvalFlip = verdict.EvalFlip

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
