package compare

import (
	"fmt"
	"image/color"
	"io"
	"path/filepath"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"

	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/replay/nightly"
)

// ReportSchema names report.json.
const ReportSchema = "reprise/compare-report/v1"

// Report files written by WriteReports: a night's (replay/nightly), junit.xml
// aside.
const (
	ResultsParquet = nightly.ResultsParquet
	ReportJSON     = nightly.ReportJSON
	SummaryMD      = nightly.SummaryMD
	ReportHTML     = nightly.ReportHTML
)

// Row is one row of results.parquet: a record of the comparison.
type Row struct {
	RequestID      string    `parquet:"request_id"`
	Timestamp      time.Time `parquet:"timestamp,timestamp(microsecond)"`
	System         string    `parquet:"system"`
	Stored         *string   `parquet:"stored,optional"`
	PinnedA        *string   `parquet:"pinned_a,optional"`
	PinnedB        *string   `parquet:"pinned_b,optional"`
	Runs           int64     `parquet:"runs"`
	AMode          string    `parquet:"a_mode"`
	BMode          string    `parquet:"b_mode"`
	Flip           bool      `parquet:"flip"`
	DiffersA       float64   `parquet:"b_differs_from_a"`
	DiffersALower  float64   `parquet:"b_differs_from_a_lower"`
	DiffersAUpper  float64   `parquet:"b_differs_from_a_upper"`
	DiffersStored  *float64  `parquet:"b_differs_from_stored,optional"`
	DiffersSLower  *float64  `parquet:"b_differs_from_stored_lower,optional"`
	DiffersSUpper  *float64  `parquet:"b_differs_from_stored_upper,optional"`
	ADiffersStored *float64  `parquet:"a_differs_from_stored,optional"`
	TV             float64   `parquet:"tv"`
	PValue         *float64  `parquet:"p_value,optional"`
	QValue         *float64  `parquet:"q_value,optional"`
	Significant    bool      `parquet:"significant"`
	Error          *string   `parquet:"error,optional"`
	ErrorClass     *string   `parquet:"error_class,optional"`
}

// Rows are the comparison's records as results.parquet rows.
func (c *Comparison) Rows() []Row {
	rows := make([]Row, len(c.Decisions))
	for i, d := range c.Decisions {
		r := Row{RequestID: d.RequestID, Timestamp: d.Timestamp.UTC(), System: d.System, Stored: d.Stored, PinnedA: d.PinnedA, PinnedB: d.PinnedB,
			Runs: int64(d.Runs), AMode: d.AMode, BMode: d.BMode, Flip: d.Flip, DiffersA: d.DiffersA.P, DiffersALower: d.DiffersA.Lower,
			DiffersAUpper: d.DiffersA.Upper, TV: d.TV, PValue: d.PValue, QValue: d.QValue, Significant: d.Significant,
			Error: record.NullIfEmpty(d.Error), ErrorClass: record.NullIfEmpty(d.ErrorClass)}
		if e := d.DiffersStored; e != nil {
			r.DiffersStored, r.DiffersSLower, r.DiffersSUpper = &e.P, &e.Lower, &e.Upper
		}
		if e := d.ADiffersStored; e != nil {
			r.ADiffersStored = &e.P
		}
		rows[i] = r
	}
	return rows
}

// WriteReports writes results.parquet, report.json, summary.md and
// report.html into dir, each atomically (nightly.WriteReportFolder).
func (c *Comparison) WriteReports(dir string) error {
	rep := struct {
		Schema string `json:"schema"`
		*Comparison
	}{ReportSchema, c}
	return nightly.WriteReportFolder(dir, c.Rows(), [][2]string{{"reprise.verdict", string(c.Verdict)}, {nightly.MetaSummary, c.Summary}}, rep,
		journal.File{Name: SummaryMD, Data: []byte(c.Markdown())}, journal.File{Name: ReportHTML, Data: []byte(c.HTML())})
}

// byID are the comparison's records by request id.
func (c *Comparison) byID() map[string]*Decision {
	m := make(map[string]*Decision, len(c.Decisions))
	for i := range c.Decisions {
		m[c.Decisions[i].RequestID] = &c.Decisions[i]
	}
	return m
}

// MaxListed is how many records of the remediation list summary.md lists.
const MaxListed = 20

// Markdown is summary.md: scope, impact and the remediation list.
func (c *Comparison) Markdown() string {
	var b strings.Builder
	e := render.MarkdownCell
	cfg := c.Config
	render.Heading(&b, "reprise compare: "+string(c.Verdict), c.Summary, c.Reason)
	fmt.Fprintf(&b, "**Scope:** %s\n\n", e(c.Scope()))
	b.WriteString("### Impact\n\n")
	t := render.NewTable(&b, "measure", "value", "interval / p")
	t.Row("records whose modal decision flips", fmt.Sprintf("%d of %d (%.1f%%)", c.Counts.Flips, c.Counts.Compared, 100*c.FlipShare.P),
		fmt.Sprintf("[%.1f%%, %.1f%%]", 100*c.FlipShare.Lower, 100*c.FlipShare.Upper))
	if s := c.StoredShare; s != nil {
		t.Row("records B would decide otherwise than stored", fmt.Sprintf("%d of %d (%.1f%%)", s.K, s.N, 100*s.P), fmt.Sprintf("[%.1f%%, %.1f%%]", 100*s.Lower, 100*s.Upper))
	}
	t.Row("records whose own test is significant", fmt.Sprintf("%d (FDR %g)", c.Counts.Significant, cfg.FDR), "")
	t.Row("permutation test paired by record, A = B", fmt.Sprintf("T = %.3g", c.Permutation.Statistic), fmt.Sprintf("p = %.3g", c.Permutation.PValue))
	if m := c.McNemar; m != nil {
		t.Row("McNemar, agreement with stored", fmt.Sprintf("lost %d, gained %d", m.B, m.C), fmt.Sprintf("p = %.3g", m.PValue))
	}
	fmt.Fprintf(&b, "\n### Remediation list (%d records)\n\n", len(c.Remediation))
	if len(c.Remediation) == 0 {
		b.WriteString("none: B's modal decision is the stored one on every record compared\n")
		return b.String()
	}
	t = render.NewTable(&b, "request", "stored", "B decides", "P(B ≠ stored):", "interval", "q:")
	by := c.byID()
	for i, id := range c.Remediation {
		if i == MaxListed {
			fmt.Fprintf(&b, "\n… and %d more in report.json and results.parquet\n", len(c.Remediation)-MaxListed)
			break
		}
		d := by[id]
		t.Row(e(id), e(*d.Stored), e(d.BMode), fmt.Sprintf("%.2f", d.DiffersStored.P),
			fmt.Sprintf("[%.2f, %.2f]", d.DiffersStored.Lower, d.DiffersStored.Upper), render.OptFloat(d.QValue, "%.3g"))
	}
	return b.String()
}

// Scope says what was compared: the log, the selection, the sample, the
// systems and the runs.
func (c *Comparison) Scope() string {
	cfg := c.Config
	sel := ""
	if cfg.Where != "" {
		sel = " where " + cfg.Where
	}
	if !cfg.Since.IsZero() || !cfg.Until.IsZero() {
		sel += fmt.Sprintf(" from %s to %s", stamp(cfg.Since), stamp(cfg.Until))
	}
	shard := ""
	if cfg.Shard != "" {
		shard = ", shard " + cfg.Shard
	}
	return fmt.Sprintf("%d records sampled (seed %d%s) of %d selected%s among %d rows of %s; A = %s, B = %s; %d fresh-seed runs per record and system, and its pinned seed",
		cfg.Drawn, cfg.Seed, shard, cfg.Selected, sel, cfg.Scanned, filepath.Base(cfg.Log), cfg.A.Name, cfg.B.Name, cfg.N)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "…"
	}
	return t.UTC().Format(time.RFC3339)
}

// HTML is report.html: one self-contained page with the verdict, the
// impact, the flip probability of every record (sorted, with intervals)
// and the remediation list.
func (c *Comparison) HTML() string {
	var b strings.Builder
	e := render.HTML
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>reprise compare</title><style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}</style></head><body>`)
	fmt.Fprintf(&b, "<h1>reprise compare: %s</h1><p>%s</p><p><b>Scope:</b> %s</p>", e(string(c.Verdict)), e(c.Summary), e(c.Scope()))
	if c.Reason != "" {
		fmt.Fprintf(&b, `<p class="reason"><b>Why:</b> %s</p>`, e(c.Reason))
	}
	b.WriteString("<h2>Flip probability by record</h2><p>P(B's decision differs from the stored one), records sorted by it, with Clopper–Pearson intervals; red: significant (Benjamini–Hochberg).</p>")
	b.WriteString(nightly.SVG(flipPlot(c)))
	b.WriteString("<h2>Remediation list</h2><table><tr><th>request</th><th>stored</th><th>B decides</th><th>P(B ≠ stored)</th><th>q</th></tr>")
	by := c.byID()
	for _, id := range c.Remediation {
		d := by[id]
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%.2f [%.2f, %.2f]</td><td>%s</td></tr>", e(id), e(*d.Stored), e(d.BMode),
			d.DiffersStored.P, d.DiffersStored.Lower, d.DiffersStored.Upper, render.OptFloat(d.QValue, "%.3g"))
	}
	b.WriteString("</table></body></html>\n")
	return b.String()
}

// Plot colors.
var (
	pointColor = color.RGBA{R: 0x66, G: 0x99, B: 0xcc, A: 0xff} // #6699CC
	sigColor   = color.RGBA{R: 0xbb, A: 0xff}                   // #BB0000
)

// flipPlot plots each record's P(B ≠ stored) (P(B ≠ A's mode) when the
// record has no stored decision), sorted, with its interval.
func flipPlot(c *Comparison) (*plot.Plot, vg.Length, vg.Length, error) {
	p := nightly.NewPlot("", "records, sorted by flip probability", "P(B ≠ stored)")
	p.Y.Min, p.Y.Max = 0, 1
	var est []Estimate
	var sig []bool
	for _, d := range c.Decisions {
		if d.Error != "" || d.Runs == 0 {
			continue
		}
		e := d.DiffersA
		if d.DiffersStored != nil {
			e = *d.DiffersStored
		}
		est, sig = append(est, e), append(sig, d.Significant)
	}
	idx := make([]int, len(est))
	for i := range idx {
		idx[i] = i
	}
	sortIdx(idx, func(a, b int) bool { return est[a].P > est[b].P })
	for _, group := range []bool{false, true} {
		var pts plotter.XYs
		var errs plotter.YErrors
		for rank, i := range idx {
			if sig[i] == group {
				pts = append(pts, plotter.XY{X: float64(rank), Y: est[i].P})
				errs = append(errs, struct{ Low, High float64 }{est[i].P - est[i].Lower, est[i].Upper - est[i].P})
			}
		}
		if len(pts) == 0 {
			continue
		}
		col := pointColor
		if group {
			col = sigColor
		}
		eb, err := plotter.NewYErrorBars(struct {
			plotter.XYs
			plotter.YErrors
		}{pts, errs})
		if err != nil {
			return nil, 0, 0, err
		}
		eb.Color = col
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, 0, 0, err
		}
		sc.GlyphStyle = vgdraw.GlyphStyle{Color: col, Radius: vg.Points(2), Shape: vgdraw.CircleGlyph{}}
		p.Add(eb, sc)
	}
	p.X.Min, p.X.Max = -1, float64(max(len(idx), 1))
	return p, 7 * vg.Inch, 3 * vg.Inch, nil
}

// Brief is what `reprise compare` prints.
type Brief struct {
	Out         string          `json:"out"`
	Verdict     string          `json:"verdict"`
	Outcome     string          `json:"outcome"`
	Reason      string          `json:"reason,omitempty"`
	Summary     string          `json:"summary"`
	Scope       string          `json:"scope"`
	Counts      Counts          `json:"counts"`
	FlipShare   Estimate        `json:"flip_share"`
	Permutation Test            `json:"permutation"`
	McNemar     *Test           `json:"mcnemar,omitempty"`
	Remediation []BriefDecision `json:"remediation"`
	// More is the number of records of the remediation list left out of
	// Remediation (report.json and results.parquet hold them all).
	More int `json:"more"`
}

// BriefDecision is one record of the brief's remediation list.
type BriefDecision struct {
	RequestID     string   `json:"request_id"`
	Stored        string   `json:"stored"`
	BDecides      string   `json:"b_decides"`
	DiffersStored Estimate `json:"b_differs_from_stored"`
	QValue        *float64 `json:"q_value"`
}

// Brief is the comparison's brief, its reports in out (the remediation
// list cut at MaxListed).
func (c *Comparison) Brief(out string) Brief {
	b := Brief{Out: out, Verdict: string(c.Verdict), Outcome: c.Outcome, Reason: c.Reason, Summary: c.Summary, Scope: c.Scope(),
		Counts: c.Counts, FlipShare: c.FlipShare, Permutation: c.Permutation, McNemar: c.McNemar, Remediation: []BriefDecision{}}
	by := c.byID()
	for i, id := range c.Remediation {
		if i == MaxListed {
			b.More = len(c.Remediation) - MaxListed
			break
		}
		d := by[id]
		b.Remediation = append(b.Remediation, BriefDecision{RequestID: id, Stored: *d.Stored, BDecides: d.BMode, DiffersStored: *d.DiffersStored, QValue: d.QValue})
	}
	return b
}

// Text writes the brief for a terminal.
func (b Brief) Text(w io.Writer) error {
	t := func(s string) string { return render.Terminal(s, false) }
	fmt.Fprintf(w, "verdict: %s\n%s\nscope: %s\n", b.Verdict, t(b.Summary), t(b.Scope))
	if b.Reason != "" {
		fmt.Fprintf(w, "why: %s\n", t(b.Reason))
	}
	if m := b.McNemar; m != nil {
		fmt.Fprintf(w, "McNemar (modal decision = stored): lost under B %d, gained %d, p = %.3g\n", m.B, m.C, m.PValue)
	}
	fmt.Fprintf(w, "reports: %s\n", b.Out)
	if len(b.Remediation) > 0 {
		fmt.Fprintf(w, "remediation (the rollout changed them and B would decide otherwise than stored, most likely first):\n")
	}
	for _, d := range b.Remediation {
		if _, err := fmt.Fprintf(w, "  %s: stored %s, B %s, P %.2f [%.2f, %.2f], q %s\n", t(d.RequestID), t(d.Stored), t(d.BDecides),
			d.DiffersStored.P, d.DiffersStored.Lower, d.DiffersStored.Upper, render.OptFloat(d.QValue, "%.3g")); err != nil {
			return err
		}
	}
	if b.More > 0 {
		fmt.Fprintf(w, "  … and %d more in report.json and results.parquet\n", b.More)
	}
	return nil
}
