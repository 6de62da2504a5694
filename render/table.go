package render

import (
	"fmt"
	"strings"
)

// Table is a Markdown table being written to a strings.Builder: NewTable
// writes its header, Row one row. Cells are written as given (escape them
// with Markdown first).
type Table struct {
	b *strings.Builder
}

// NewTable writes the header row of columns and the delimiter row to b; a
// column whose name ends in ":" is right-aligned (the colon is not shown),
// and a column named "" has an empty header cell ("| |"), e.g.
// NewTable(b, "label", "runs:").
func NewTable(b *strings.Builder, columns ...string) Table {
	delim := make([]string, len(columns))
	b.WriteString("|")
	for i, c := range columns {
		name, right := strings.CutSuffix(c, ":")
		delim[i] = "---"
		if right {
			delim[i] = "---:"
		}
		if name != "" {
			b.WriteString(" " + name)
		}
		b.WriteString(" |")
	}
	fmt.Fprintf(b, "\n|%s|\n", strings.Join(delim, "|"))
	return Table{b}
}

// Heading writes the head of a step summary to b: the heading "## title"
// (written as given), the summary, and "**Why:** reason" when reason is
// not empty, the summary and the reason escaped (MarkdownCell).
func Heading(b *strings.Builder, title, summary, reason string) {
	fmt.Fprintf(b, "## %s\n\n%s\n\n", title, MarkdownCell(summary))
	if reason != "" {
		fmt.Fprintf(b, "**Why:** %s\n\n", MarkdownCell(reason))
	}
}

// Row writes one row of cells.
func (t Table) Row(cells ...string) {
	fmt.Fprintf(t.b, "| %s |\n", strings.Join(cells, " | "))
}

// Dash stands for an absent value in a report.
const Dash = "—"

// OptFloat is *p written with format (e.g. "%.3g"), or a dash (Dash) when
// p is nil: an absent p-value or score.
func OptFloat(p *float64, format string) string {
	if p == nil {
		return Dash
	}
	return fmt.Sprintf(format, *p)
}

// DashIfEmpty is s, or a dash when s is empty.
func DashIfEmpty(s string) string {
	if s == "" {
		return Dash
	}
	return s
}
