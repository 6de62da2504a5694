package counterfactual

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/verdict"
)

// writeFiles writes report.json (rep), report.md (md) and runs.parquet
// (zstd) into dir, each atomically.
func writeFiles(dir string, rep any, md string, runs []Run) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := journal.WriteAtomic(filepath.Join(dir, "report.json"), append(b, '\n')); err != nil {
		return err
	}
	if err := journal.WriteAtomic(filepath.Join(dir, "report.md"), []byte(md)); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[Run](&buf, parquet.Compression(&parquet.Zstd))
	if len(runs) > 0 {
		if _, err := w.Write(runs); err != nil {
			return fmt.Errorf("runs.parquet: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("runs.parquet: %w", err)
	}
	return journal.WriteAtomic(filepath.Join(dir, "runs.parquet"), buf.Bytes())
}

// ReadRuns reads a runs.parquet file of this package.
func ReadRuns(path string) ([]Run, error) { return parquet.ReadFile[Run](path) }

// WriteFiles writes report.json, report.md and runs.parquet into dir.
func (r *AgainstResult) WriteFiles(dir string) error {
	return writeFiles(dir, r.Report, r.Report.Markdown(), r.Runs)
}

// WriteFiles writes report.json, report.md and runs.parquet into dir.
func (r *AttributeResult) WriteFiles(dir string) error {
	return writeFiles(dir, r.Report, r.Report.Markdown(), r.Runs)
}

// Markdown renders the counterfactual report for people; every value from
// a record, a system or an error is escaped.
func (r *AgainstReport) Markdown() string {
	var b strings.Builder
	e := render.Markdown
	fmt.Fprintf(&b, "# Counterfactual replay of %s: %s\n\n", render.MarkdownPlain(r.Record.RequestID), e(string(r.Verdict)))
	if r.Error != "" {
		fmt.Fprintf(&b, "**Error:** %s\n\n", e(r.Error))
	}
	if c := r.Comparison; c != nil {
		b.WriteString("## Why\n\n")
		for _, s := range c.Reasons {
			fmt.Fprintf(&b, "- %s\n", e(s))
		}
		b.WriteString("\n")
	}
	writeRecord(&b, r.Record)
	writeSystems(&b, r.Systems)
	if c := r.Comparison; c != nil {
		writeTests(&b, c.Tests)
	}
	writeNotes(&b, r.Notes)
	fmt.Fprintf(&b, "## Timings\n\ntotal %.0f ms.\n", r.Timings.TotalMS)
	return b.String()
}

// Markdown renders the attribution report for people.
func (r *AttributeReport) Markdown() string {
	var b strings.Builder
	e := render.Markdown
	var set []string
	for _, id := range r.Set {
		i := slices.IndexFunc(r.Candidates, func(c CandidateResult) bool { return c.SystemID == id })
		set = append(set, r.Candidates[i].Version)
	}
	fmt.Fprintf(&b, "# Attribution of %s: {%s}\n\n", render.MarkdownPlain(r.Record.RequestID), e(strings.Join(set, ", ")))
	if r.Error != "" {
		fmt.Fprintf(&b, "**Error:** %s\n\n", e(r.Error))
	}
	b.WriteString("## Why\n\n")
	for _, s := range r.Reasons {
		fmt.Fprintf(&b, "- %s\n", e(s))
	}
	fmt.Fprintf(&b, "\nThe set is ordered %s.\n\n", e(r.Order))
	writeRecord(&b, r.Record)
	t := render.NewTable(&b, "rank:", "role", "system", "model", "verdict", "stored output:", "runs:")
	for _, c := range r.Candidates {
		rank := render.Dash
		if c.Rank > 0 {
			rank = fmt.Sprint(c.Rank)
		}
		v := string(c.Verdict)
		if c.Basis != "" {
			v += " (" + c.Basis + ")"
		}
		t.Row(rank, e(c.Role), render.MarkdownCode(short(c.SystemID)), e(c.Version), e(v), storedCell(c.Stored), fmt.Sprint(c.Runs))
	}
	b.WriteString("\n")
	for _, c := range r.Candidates {
		fmt.Fprintf(&b, "### %s %s\n\n", e(c.Role), e(c.Version))
		for _, s := range c.Reasons {
			fmt.Fprintf(&b, "- %s\n", e(s))
		}
		b.WriteString("\n")
		writeTests(&b, c.Tests)
	}
	writeNotes(&b, r.Notes)
	fmt.Fprintf(&b, "## Timings\n\ntotal %.0f ms.\n", r.Timings.TotalMS)
	return b.String()
}

func short(id string) string {
	if len(id) > 15 {
		return id[:15] + "…"
	}
	return id
}

func storedCell(s *StoredShare) string {
	if s == nil {
		return render.Dash
	}
	return fmt.Sprintf("%d/%d (%.3f)", s.K, s.N, s.Share)
}

func writeRecord(b *strings.Builder, r RecordSummary) {
	e, code := render.Markdown, render.MarkdownCode
	b.WriteString("## Decision record\n\n")
	t := render.NewTable(b, "field", "value")
	t.Row("request id", code(r.RequestID))
	t.Row("decided at", e(r.Timestamp))
	t.Row("protocol", e(r.Protocol))
	t.Row("input", code(r.InputDigest))
	var fields []string
	for _, f := range r.Output().Fields() {
		if f.Set {
			fields = append(fields, f.Name+" "+f.Value)
		}
	}
	t.Row("stored output", e(strings.Join(fields, ", ")))
	b.WriteString("\n")
}

func writeSystems(b *strings.Builder, systems []SystemSection) {
	e := render.Markdown
	b.WriteString("## Systems\n\n")
	t := render.NewTable(b, "role", "source", "system", "model", "config", "runs:", "stored output:", "pinned seed")
	for _, s := range systems {
		exact := render.Dash
		if s.Exact != nil {
			exact = fmt.Sprintf("exact match: %v", s.Exact.ExactMatch)
		}
		t.Row(e(s.Role), e(s.Source), render.MarkdownCode(short(s.SystemID)), e(s.Version), e(s.Config), fmt.Sprint(s.Runs), storedCell(s.Stored), exact)
	}
	b.WriteString("\n")
	var labels []string
	for _, s := range systems {
		for l := range s.LabelCounts {
			if !slices.Contains(labels, l) {
				labels = append(labels, l)
			}
		}
	}
	if len(labels) == 0 {
		return
	}
	slices.Sort(labels)
	cols := []string{"label"}
	for _, s := range systems {
		cols = append(cols, s.Role+":")
	}
	lt := render.NewTable(b, cols...)
	for _, l := range labels {
		row := []string{e(l)}
		for _, s := range systems {
			row = append(row, fmt.Sprint(s.LabelCounts[l]))
		}
		lt.Row(row...)
	}
	b.WriteString("\n")
}

func writeTests(b *strings.Builder, tests []verdict.TestResult) {
	if len(tests) == 0 {
		return
	}
	e := render.Markdown
	t := render.NewTable(b, "test", "statistic:", "p-value:", "interval", "method")
	for _, x := range tests {
		p := render.OptFloat(x.PValue, "%.4g")
		if x.Skipped != "" {
			p = "skipped: " + x.Skipped
		} else if x.Level != nil && x.PValue != nil {
			p += fmt.Sprintf(" (level %.4g)", *x.Level)
		}
		iv := render.Dash
		if x.Interval != nil {
			iv = fmt.Sprintf("[%.4f, %.4f] %s %g", x.Interval.Lower, x.Interval.Upper, x.Interval.Method, x.Interval.Conf)
		}
		t.Row(e(x.Name), render.OptFloat(x.Statistic, "%.4g"), e(p), e(iv), e(x.Method))
	}
	b.WriteString("\n")
}

func writeNotes(b *strings.Builder, notes []string) {
	if len(notes) == 0 {
		return
	}
	b.WriteString("## Notes\n\n")
	for _, n := range notes {
		fmt.Fprintf(b, "- %s\n", render.Markdown(n))
	}
	b.WriteString("\n")
}
