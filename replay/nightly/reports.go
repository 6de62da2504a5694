package nightly

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// ReportSchema names report.json.
const ReportSchema = "reprise/nightly-report/v1"

// Report files written by WriteReports.
const (
	ResultsParquet = "results.parquet"
	ReportJSON     = "report.json"
	JUnitXML       = "junit.xml"
	SummaryMD      = "summary.md"
	ReportHTML     = "report.html"
)

// ResultRow is one row of results.parquet.
type ResultRow struct {
	RequestID     string    `parquet:"request_id"`
	Timestamp     time.Time `parquet:"timestamp,timestamp(microsecond)"`
	System        string    `parquet:"system"`
	SystemName    string    `parquet:"system_name"`
	HardwareClass string    `parquet:"hardware_class"`
	ReplayVerdict string    `parquet:"replay_verdict"`
	Verdict       string    `parquet:"verdict"`
	Basis         *string   `parquet:"basis,optional"`
	PValue        *float64  `parquet:"p_value,optional"`
	PTest         *string   `parquet:"p_test,optional"`
	QValue        *float64  `parquet:"q_value,optional"`
	Why           string    `parquet:"why"`
	ErrorClass    *string   `parquet:"error_class,optional"`
	StoredLabel   *string   `parquet:"stored_label,optional"`
	StoredScore   *float64  `parquet:"stored_score,optional"`
	Reports       *string   `parquet:"reports,optional"`
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// Rows are the night's results as results.parquet rows.
func (n *Night) Rows() []ResultRow {
	rows := make([]ResultRow, len(n.Records))
	for i, r := range n.Records {
		rows[i] = ResultRow{RequestID: r.RequestID, Timestamp: r.Timestamp.UTC(), System: r.System, SystemName: r.SystemName,
			HardwareClass: r.HardwareClass, ReplayVerdict: string(r.ReplayVerdict), Verdict: string(r.Verdict),
			Basis: opt(r.Basis), PValue: r.PValue, PTest: opt(r.PTest), QValue: r.QValue, Why: r.Why,
			ErrorClass: opt(r.ErrorClass), StoredLabel: r.Stored.Label, StoredScore: r.Stored.Score, Reports: opt(r.Reports)}
	}
	return rows
}

// WriteReports writes results.parquet, report.json, junit.xml, summary.md
// and report.html into dir, each atomically.
func (n *Night) WriteReports(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[ResultRow](&buf, parquet.Compression(&parquet.Zstd))
	if rows := n.Rows(); len(rows) > 0 {
		if _, err := w.Write(rows); err != nil {
			return fmt.Errorf("%s: %w", ResultsParquet, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("%s: %w", ResultsParquet, err)
	}
	files := map[string][]byte{ResultsParquet: buf.Bytes()}
	rep := struct {
		Schema string `json:"schema"`
		*Night
	}{ReportSchema, n}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	files[ReportJSON] = append(b, '\n')
	if files[JUnitXML], err = n.JUnit(); err != nil {
		return err
	}
	files[SummaryMD] = []byte(n.Markdown())
	files[ReportHTML] = []byte(n.HTML())
	for name, b := range files {
		if err := store.WriteAtomic(filepath.Join(dir, name), b); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// JUnit is junit.xml: one testsuite per system, one testcase per record;
// DIVERGED is a failure, an error an error, INCONCLUSIVE skipped, each with
// the report's why.
func (n *Night) JUnit() ([]byte, error) {
	all := junitSuites{Name: "reprise nightly"}
	idx := map[string]int{}
	for _, r := range n.Records {
		i, ok := idx[r.System]
		if !ok {
			i = len(all.Suites)
			idx[r.System] = i
			all.Suites = append(all.Suites, junitSuite{Name: r.SystemName})
		}
		s := &all.Suites[i]
		c := junitCase{Name: r.RequestID, ClassName: r.SystemName}
		msg := &junitMessage{Message: string(r.Verdict), Type: string(r.Verdict), Text: r.Why}
		switch r.Verdict {
		case verdict.Diverged:
			c.Failure = msg
			s.Failures++
		case verdict.Failed:
			c.Error = msg
			s.Errors++
		case verdict.Inconclusive:
			c.Skipped = msg
			s.Skipped++
		}
		s.Tests++
		s.Cases = append(s.Cases, c)
	}
	for _, s := range all.Suites {
		all.Tests += s.Tests
		all.Failures += s.Failures
		all.Errors += s.Errors
		all.Skipped += s.Skipped
	}
	b, err := xml.MarshalIndent(all, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// Markdown is the GitHub step summary: the outcome, the rate per system,
// and the DIVERGED records.
func (n *Night) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## reprise nightly: %s\n\n%s\n\n", n.Outcome, mdEscape(n.Summary))
	b.WriteString("| system | records | reproduced | diverged | errors | rate | 95% interval |\n|---|---:|---:|---:|---:|---:|---|\n")
	for _, s := range n.Systems {
		flag := ""
		if s.BelowMin {
			flag = " ⚠ below min rate"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %.3f | [%.3f, %.3f]%s |\n", mdEscape(s.Name), s.Records, s.Reproduced, s.Diverged, s.Errors, s.Rate, s.Lower, s.Upper, flag)
	}
	var div []Result
	for _, r := range n.Records {
		if r.Verdict == verdict.Diverged {
			div = append(div, r)
		}
	}
	if len(div) > 0 {
		b.WriteString("\n### DIVERGED\n\n| request | system | q | why |\n|---|---|---:|---|\n")
		for _, r := range div {
			fmt.Fprintf(&b, "| %s | %s | %.3g | %s |\n", mdEscape(r.RequestID), mdEscape(r.SystemName), *r.QValue, mdEscape(r.Why))
		}
	}
	return b.String()
}

func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

// Annotations are GitHub workflow commands: one ::error per DIVERGED
// record (and one per system below the minimum rate).
func (n *Night) Annotations() string {
	var b strings.Builder
	esc := func(s string) string {
		return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
	}
	for _, r := range n.Records {
		if r.Verdict == verdict.Diverged {
			fmt.Fprintf(&b, "::error title=DIVERGED %s::%s\n", esc(strings.ReplaceAll(r.RequestID, ":", "_")), esc(r.SystemName+": "+r.Why))
		}
	}
	for _, s := range n.Systems {
		if s.BelowMin {
			fmt.Fprintf(&b, "::error title=reproducibility rate::%s\n", esc(fmt.Sprintf("%s: rate %.3f, interval [%.3f, %.3f] below %g", s.Name, s.Rate, s.Lower, s.Upper, n.Config.MinRate)))
		}
	}
	return b.String()
}

// HTML is report.html: one self-contained page (inline SVG, no network)
// with the rate per system and its interval, the p-value histogram, and for
// each DIVERGED record its replay distribution with the stored output
// marked.
func (n *Night) HTML() string {
	var b strings.Builder
	e := html.EscapeString
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>reprise nightly</title><style>
body{font:14px system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}
.DIVERGED{color:#b00}.REPRODUCED{color:#070}.INCONCLUSIVE{color:#a60}.ERROR{color:#555}</style></head><body>`)
	fmt.Fprintf(&b, "<h1>reprise nightly: %s</h1><p>%s</p>", e(n.Outcome), e(n.Summary))
	b.WriteString("<h2>Reproducibility rate per system (95% Clopper–Pearson interval)</h2>")
	b.WriteString(rateSVG(n))
	b.WriteString("<h2>Per-record p-values</h2>")
	var ps []float64
	for _, r := range n.Records {
		if r.PValue != nil {
			ps = append(ps, *r.PValue)
		}
	}
	b.WriteString(histSVG(ps, 0, 1, 20, math.NaN(), "p-value"))
	b.WriteString("<h2>DIVERGED records</h2>")
	any := false
	for _, r := range n.Records {
		if r.Verdict != verdict.Diverged {
			continue
		}
		any = true
		fmt.Fprintf(&b, "<h3>%s <small>%s</small></h3><p>q = %.3g. %s</p>", e(r.RequestID), e(r.SystemName), *r.QValue, e(r.Why))
		if len(r.Labels) > 0 {
			b.WriteString(labelSVG(r))
		}
		if len(r.Scores) > 0 && r.Stored.Score != nil {
			lo, hi := *r.Stored.Score, *r.Stored.Score
			for _, s := range r.Scores {
				lo, hi = math.Min(lo, s), math.Max(hi, s)
			}
			if hi == lo {
				lo, hi = lo-0.5, hi+0.5
			}
			b.WriteString(histSVG(r.Scores, lo, hi, 30, *r.Stored.Score, "replayed score (stored score marked)"))
		}
	}
	if !any {
		b.WriteString("<p>none</p>")
	}
	b.WriteString("<h2>Records</h2><table><tr><th>request</th><th>system</th><th>verdict</th><th>p</th><th>q</th><th>why</th></tr>")
	for _, r := range n.Records {
		fmt.Fprintf(&b, `<tr><td>%s</td><td>%s</td><td class="%s">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`,
			e(r.RequestID), e(r.SystemName), e(string(r.Verdict)), e(string(r.Verdict)), fmtP(r.PValue), fmtP(r.QValue), e(r.Why))
	}
	b.WriteString("</table></body></html>\n")
	return b.String()
}

func fmtP(p *float64) string {
	if p == nil {
		return "—"
	}
	return fmt.Sprintf("%.3g", *p)
}

const svgW, svgH = 640.0, 220.0

func rateSVG(n *Night) string {
	var b strings.Builder
	h := 30*float64(len(n.Systems)) + 40
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="11">`, svgW, h)
	x := func(v float64) float64 { return 260 + v*(svgW-280) }
	for i, s := range n.Systems {
		y := 20 + 30*float64(i)
		fmt.Fprintf(&b, `<text x="4" y="%g">%s</text>`, y+4, html.EscapeString(trim(s.Name, 40)))
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="%g" y2="%g" stroke="#333" stroke-width="2"/>`, x(s.Lower), x(s.Upper), y, y)
		fmt.Fprintf(&b, `<circle cx="%g" cy="%g" r="4" fill="#06c"/>`, x(s.Rate), y)
	}
	if mr := n.Config.MinRate; mr > 0 {
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="5" y2="%g" stroke="#b00" stroke-dasharray="4"/><text x="%g" y="%g" fill="#b00">min rate %g</text>`, x(mr), x(mr), h-20, x(mr)+3, h-22, mr)
	}
	for _, t := range []float64{0, 0.25, 0.5, 0.75, 1} {
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%g</text>`, x(t), h-5, t)
	}
	b.WriteString("</svg>")
	return b.String()
}

func histSVG(vals []float64, lo, hi float64, bins int, mark float64, label string) string {
	counts := make([]int, bins)
	for _, v := range vals {
		i := int((v - lo) / (hi - lo) * float64(bins))
		counts[min(max(i, 0), bins-1)]++
	}
	top := 1
	for _, c := range counts {
		top = max(top, c)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="11">`, svgW, svgH)
	pw, ph := svgW-60, svgH-50
	bw := pw / float64(bins)
	for i, c := range counts {
		bh := ph * float64(c) / float64(top)
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="#69c"><title>%d</title></rect>`, 40+float64(i)*bw, 10+ph-bh, bw-1, bh, c)
	}
	fmt.Fprintf(&b, `<text x="40" y="%g">%.3g</text><text x="%g" y="%g" text-anchor="end">%.3g</text><text x="%g" y="%g" text-anchor="middle">%s</text><text x="4" y="20">%d</text>`,
		svgH-25, lo, 40+pw, svgH-25, hi, 40+pw/2, svgH-8, html.EscapeString(label), top)
	if !math.IsNaN(mark) {
		mx := 40 + pw*(mark-lo)/(hi-lo)
		fmt.Fprintf(&b, `<line x1="%g" x2="%g" y1="5" y2="%g" stroke="#b00" stroke-width="2"/><text x="%g" y="12" fill="#b00">stored %.4g</text>`, mx, mx, 10+ph, mx+3, mark)
	}
	b.WriteString("</svg>")
	return b.String()
}

func labelSVG(r Result) string {
	var b strings.Builder
	h := 22*float64(len(r.Labels)) + 40
	top := 1
	for _, c := range r.Labels {
		top = max(top, c.N)
	}
	stored := ""
	if r.Stored.Label != nil {
		stored = *r.Stored.Label
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-size="11">`, svgW, h)
	found := false
	for i, c := range r.Labels {
		y := 10 + 22*float64(i)
		fill := "#69c"
		if c.Label == stored {
			fill, found = "#b00", true
		}
		fmt.Fprintf(&b, `<text x="4" y="%g">%s</text><rect x="160" y="%g" width="%g" height="16" fill="%s"/><text x="%g" y="%g">%d</text>`,
			y+12, html.EscapeString(trim(c.Label, 24)), y, (svgW-220)*float64(c.N)/float64(top), fill, 165+(svgW-220)*float64(c.N)/float64(top), y+12, c.N)
	}
	if !found && stored != "" {
		fmt.Fprintf(&b, `<text x="4" y="%g" fill="#b00">stored label %s: never replayed</text>`, h-4, html.EscapeString(trim(stored, 40)))
	}
	b.WriteString("</svg>")
	return b.String()
}

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
