package nightly

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	vgdraw "gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/render"
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
	// Columns are the stored output: stored_label and stored_score.
	output.Columns
	Reports *string `parquet:"reports,optional"`
	// FleetP is the record's fleet p-value (Result.FleetP).
	FleetP *float64 `parquet:"fleet_p,optional"`
}

// Rows are the night's results as results.parquet rows.
func (n *Night) Rows() []ResultRow {
	rows := make([]ResultRow, len(n.Records))
	for i, r := range n.Records {
		rows[i] = ResultRow{RequestID: r.RequestID, Timestamp: r.Timestamp.UTC(), System: r.System, SystemName: r.SystemName,
			HardwareClass: r.HardwareClass, ReplayVerdict: string(r.ReplayVerdict), Verdict: string(r.Verdict),
			Basis: record.NullIfEmpty(r.Basis), PValue: r.PValue, PTest: record.NullIfEmpty(r.PTest), QValue: r.QValue, Why: r.Why,
			ErrorClass: record.NullIfEmpty(r.ErrorClass), Columns: output.Columns{StoredLabel: r.Stored.Label, StoredScore: r.Stored.Score},
			Reports: record.NullIfEmpty(r.Reports), FleetP: r.FleetP}
	}
	return rows
}

// Key-value metadata of results.parquet: the night's outcome, summary and
// reason (a night with no record has no row to say it).
const (
	MetaOutcome = "reprise.outcome"
	MetaSummary = "reprise.summary"
	MetaReason  = "reprise.reason"
)

// WriteReports writes results.parquet, report.json, junit.xml, summary.md
// and report.html into dir, each atomically.
func (n *Night) WriteReports(dir string) error {
	junit, err := n.JUnit()
	if err != nil {
		return err
	}
	rep := struct {
		Schema string `json:"schema"`
		*Night
	}{ReportSchema, n}
	return WriteReportFolder(dir, n.Rows(), [][2]string{{MetaOutcome, n.Outcome}, {MetaSummary, n.Summary}, {MetaReason, n.Reason}}, rep,
		journal.File{Name: JUnitXML, Data: junit}, journal.File{Name: SummaryMD, Data: []byte(n.Markdown())}, journal.File{Name: ReportHTML, Data: []byte(n.HTML())})
}

// WriteReportFolder writes a report folder as a night's into dir, each
// file atomically: results.parquet, rows as Parquet with the key-value
// metadata meta (key, value); report.json, report as JSON; then the files
// more. A comparison (replay/compare) writes its reports with it too.
func WriteReportFolder[T any](dir string, rows []T, meta [][2]string, report any, more ...journal.File) error {
	opts := make([]parquet.WriterOption, len(meta))
	for i, kv := range meta {
		opts[i] = parquet.KeyValueMetadata(kv[0], kv[1])
	}
	b, err := record.EncodeParquet(rows, opts...)
	if err != nil {
		return fmt.Errorf("%s: %w", ResultsParquet, err)
	}
	rep, err := journal.JSON(report)
	if err != nil {
		return err
	}
	return journal.WriteFiles(dir, append([]journal.File{{Name: ResultsParquet, Data: b}, {Name: ReportJSON, Data: rep}}, more...)...)
}

type junitSuites struct {
	XMLName xml.Name `xml:"testsuites"`
	Name    string   `xml:"name,attr"`
	junitCounts
	Suites []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name string `xml:"name,attr"`
	junitCounts
	Cases []junitCase `xml:"testcase"`
}

// junitCounts are the tests, failures, errors and skipped tests of a
// testsuite or of all of them (the attributes after name).
type junitCounts struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
}

// add adds c's counts to t's.
func (t *junitCounts) add(c junitCounts) {
	t.Tests += c.Tests
	t.Failures += c.Failures
	t.Errors += c.Errors
	t.Skipped += c.Skipped
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
// the report's why. A night with no record has one testsuite "night" with
// one testcase "sample", skipped (INCONCLUSIVE) or passed (a shard with an
// empty share), its message the night's reason.
func (n *Night) JUnit() ([]byte, error) {
	all := junitSuites{Name: "reprise nightly"}
	if len(n.Records) == 0 {
		c := junitCase{Name: "sample", ClassName: "night"}
		s := junitSuite{Name: "night", junitCounts: junitCounts{Tests: 1}}
		if n.Outcome == OutcomeInconclusive {
			c.Skipped = &junitMessage{Message: string(verdict.Inconclusive), Type: string(verdict.Inconclusive), Text: n.Reason}
			s.Skipped = 1
		}
		s.Cases = []junitCase{c}
		all.Suites = append(all.Suites, s)
	}
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
	all.Suites = n.fleetJUnit(all.Suites)
	for _, s := range all.Suites {
		all.add(s.junitCounts)
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
	e := render.MarkdownCell
	render.Heading(&b, "reprise nightly: "+n.Outcome, n.Summary, n.Reason)
	t := render.NewTable(&b, "system", "records:", "reproduced:", "diverged:", "errors:", "rate:", "95% interval")
	for _, s := range n.Systems {
		flag := ""
		if s.BelowMin {
			flag = " ⚠ below min rate"
		}
		t.Row(e(s.Name), strconv.Itoa(s.Records), strconv.Itoa(s.Reproduced), strconv.Itoa(s.Diverged), strconv.Itoa(s.Errors),
			fmt.Sprintf("%.3f", s.Rate), fmt.Sprintf("[%.3f, %.3f]%s", s.Lower, s.Upper, flag))
	}
	n.fleetMarkdown(&b)
	var div []Result
	for _, r := range n.Records {
		if r.Verdict == verdict.Diverged {
			div = append(div, r)
		}
	}
	if len(div) > 0 {
		b.WriteString("\n### DIVERGED\n\n")
		t := render.NewTable(&b, "request", "system", "q:", "why")
		for _, r := range div {
			t.Row(e(r.RequestID), e(r.SystemName), fmt.Sprintf("%.3g", *r.QValue), e(r.Why))
		}
	}
	return b.String()
}

// Annotations are GitHub workflow commands: one ::error per DIVERGED
// record (and one per system below the minimum rate, and one for a night
// that replayed nothing).
func (n *Night) Annotations() string {
	var b strings.Builder
	esc := render.WorkflowData
	for _, r := range n.Records {
		if r.Verdict == verdict.Diverged {
			fmt.Fprintf(&b, "::error title=DIVERGED %s::%s\n", esc(strings.ReplaceAll(r.RequestID, ":", "_")), esc(r.SystemName+": "+r.Why))
		}
	}
	if len(n.Records) == 0 && n.Outcome == OutcomeInconclusive {
		fmt.Fprintf(&b, "::error title=empty night::%s\n", esc(n.Reason))
	}
	b.WriteString(n.fleetAnnotations())
	for _, s := range n.Systems {
		if s.BelowMin {
			fmt.Fprintf(&b, "::error title=reproducibility rate::%s\n", esc(fmt.Sprintf("%s: rate %.3f, interval [%.3f, %.3f] below %g", s.Name, s.Rate, s.Lower, s.Upper, n.Config.MinRate)))
		}
	}
	return b.String()
}

// HTML is report.html: one self-contained page (inline SVG, no network)
// with what the night was (date, log, window, filter, sample, seed, levels,
// reprise version), the rate per system and its interval, the histogram of
// the tested records' p-values, for each DIVERGED record its replay
// distribution with the stored output marked, and every record linked to
// its reports. Its parts are htmlSections.
func (n *Night) HTML() string {
	var b strings.Builder
	b.WriteString(htmlHead)
	for _, section := range n.htmlSections() {
		section(&b)
	}
	b.WriteString(htmlFoot)
	return b.String()
}

// Plot colors, each used for one thing only (the tests find the plots'
// parts by them).
var (
	barColor    = color.RGBA{R: 0x66, G: 0x99, B: 0xcc, A: 0xff} // bars and bins: #6699CC
	storedColor = color.RGBA{R: 0xbb, A: 0xff}                   // the stored output's marker: #BB0000
	minColor    = color.RGBA{R: 0xe0, G: 0x80, A: 0xff}          // the --min-rate line: #E08000
	rateColor   = color.RGBA{G: 0x66, B: 0xcc, A: 0xff}          // a rate's point and interval: #0066CC
)

// pValueBins is the number of bins of the p-value histogram over [0, 1].
const pValueBins = 20

// scoreBins is the number of bins of a DIVERGED record's score histogram.
const scoreBins = 30

// svgOf renders p as w × h points of inline SVG with gonum/plot's SVG
// backend: fonts are named, not embedded (the page stays small), and the
// XML prolog and the unused xlink namespace are cut, so the only address
// the SVG holds is its own namespace's.
func svgOf(p *plot.Plot, w, h vg.Length, err error) string {
	if err != nil {
		return plotFailed(err)
	}
	c := vgsvg.New(w, h)
	// A margin of plotPad on every side: the page's font may stand a little
	// taller than the one measured.
	p.Draw(vgdraw.Crop(vgdraw.New(c), plotPad, -plotPad, plotPad, -plotPad))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return plotFailed(err)
	}
	s := b.String()
	if i := strings.Index(s, "<svg"); i >= 0 {
		s = s[i:]
	}
	s = strings.ReplaceAll(s, "font-family:"+string(plotFont.Typeface)+" "+string(plotFont.Variant), "font-family:inherit")
	return strings.Replace(s, "\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\"", "", 1)
}

// plotFont is the font plots are measured in, and svgOf has their texts
// drawn in the page's own font (inherit) instead: a monospace font is wider
// than the page's sans-serif, so the room gonum/plot leaves for a text
// holds it in whichever font the reader's browser picks.
var plotFont = font.Font{Typeface: "Liberation", Variant: "Mono"}

// plotPad is the blank margin around every plot.
const plotPad = vg.Length(6)

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Y.Tick.Marker = plainTicks{}
	for _, st := range []*text.Style{&p.Title.TextStyle, &p.X.Label.TextStyle, &p.Y.Label.TextStyle, &p.X.Tick.Label, &p.Y.Tick.Label, &p.Legend.TextStyle} {
		st.Font.Typeface, st.Font.Variant = plotFont.Typeface, plotFont.Variant
	}
	return p
}

// plainTicks are plot.DefaultTicks labelled by the shortest decimal (50,
// not 50.00).
type plainTicks struct{}

func (plainTicks) Ticks(lo, hi float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = strconv.FormatFloat(ts[i].Value, 'g', -1, 64)
		}
	}
	return ts
}

// plotFailed is the page's note for a plot that could not be drawn.
func plotFailed(err error) string {
	return "<p>plot: " + render.HTML(err.Error()) + "</p>"
}

// rateSVG plots each system's reproducibility rate (a point) with its
// interval (error bars), and the minimum rate when set.
func ratePlot(n *Night) (*plot.Plot, vg.Length, vg.Length, error) {
	p := newPlot("", "reproducibility rate, 95% interval", "")
	p.X.Min, p.X.Max = 0, 1
	var names []string
	pts := make(plotter.XYs, 0, len(n.Systems))
	var errs plotter.XErrors
	lines := 0
	for i, s := range n.Systems {
		name := wrap(s.Name, nameWidth)
		lines += strings.Count(name, "\n") + 1
		names = append(names, name)
		pts = append(pts, plotter.XY{X: s.Rate, Y: float64(i)})
		errs = append(errs, struct{ Low, High float64 }{Low: s.Rate - s.Lower, High: s.Upper - s.Rate})
	}
	if len(pts) > 0 {
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYs
			plotter.XErrors
		}{pts, errs})
		if err != nil {
			return nil, 0, 0, err
		}
		eb.Color, eb.LineStyle.Width, eb.CapWidth = rateColor, vg.Points(2), vg.Points(10)
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, 0, 0, err
		}
		sc.GlyphStyle = vgdraw.GlyphStyle{Color: rateColor, Radius: vg.Points(3), Shape: vgdraw.CircleGlyph{}}
		p.Add(eb, sc)
		p.NominalY(names...)
	}
	if mr := n.Config.MinRate; mr > 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: mr, Y: -0.5}, {X: mr, Y: float64(len(n.Systems)) - 0.5}})
		if err != nil {
			return nil, 0, 0, err
		}
		l.Color, l.Dashes = minColor, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Title.Text = fmt.Sprintf("dashed: --min-rate %g", mr)
	}
	return p, 6 * vg.Inch, vg.Points(70 + 18*float64(len(n.Systems)) + 14*float64(lines)), nil
}

// histogram is a histogram of vals over [lo, hi] in bins equal bins (values
// outside go to the first or last).
func histogram(vals []float64, lo, hi float64, bins int) *plotter.Histogram {
	h := &plotter.Histogram{Width: (hi - lo) / float64(bins), FillColor: barColor, LineStyle: vgdraw.LineStyle{Color: color.White, Width: vg.Points(0.5)}}
	for i := range bins {
		h.Bins = append(h.Bins, plotter.HistogramBin{Min: lo + float64(i)*h.Width, Max: lo + float64(i+1)*h.Width})
	}
	for _, v := range vals {
		i := int((v - lo) / (hi - lo) * float64(bins))
		h.Bins[min(max(i, 0), bins-1)].Weight++
	}
	return h
}

// pValueSVG is the histogram of the records' p-values over [0, 1].
func pValuePlot(ps []float64) (*plot.Plot, vg.Length, vg.Length, error) {
	p := newPlot("", "record p-value", "records")
	p.Add(histogram(ps, 0, 1, pValueBins))
	p.X.Min, p.X.Max, p.Y.Min = 0, 1, 0
	return p, 6 * vg.Inch, 2.6 * vg.Inch, nil
}

// scorePlot is the histogram of a record's replayed scores with the
// stored score, when it has one, marked (a vertical line).
func scorePlot(r Result) (*plot.Plot, vg.Length, vg.Length, error) {
	scores := r.Scores
	lo, hi := math.Inf(1), math.Inf(-1)
	if r.Stored.Score != nil {
		lo, hi = *r.Stored.Score, *r.Stored.Score
	}
	for _, s := range scores {
		lo, hi = math.Min(lo, s), math.Max(hi, s)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 0
	}
	if hi == lo {
		lo, hi = lo-0.5, hi+0.5
	}
	pad := (hi - lo) / 20
	lo, hi = lo-pad, hi+pad
	h := histogram(scores, lo, hi, scoreBins)
	top := 1.0
	for _, b := range h.Bins {
		top = math.Max(top, b.Weight)
	}
	p := newPlot("", "replayed score", "runs")
	p.Add(h)
	if r.Stored.Score != nil {
		stored := *r.Stored.Score
		l, err := plotter.NewLine(plotter.XYs{{X: stored, Y: 0}, {X: stored, Y: top}})
		if err != nil {
			return nil, 0, 0, err
		}
		l.Color, l.Width = storedColor, vg.Points(2)
		p.Add(l)
	}
	p.X.Min, p.X.Max, p.Y.Min = lo, hi, 0
	return p, 6 * vg.Inch, 2.6 * vg.Inch, nil
}

// labelSVG is a record's replayed label counts (bars) with the stored label
// marked (a triangle over its bar; at 0 when it never came back).
func labelPlot(r Result) (*plot.Plot, vg.Length, vg.Length, error) {
	stored := ""
	if r.Stored.Label != nil {
		stored = *r.Stored.Label
	}
	var names []string
	var vals plotter.Values
	at := -1
	for i, c := range r.Labels {
		names = append(names, trim(c.Label, 24))
		vals = append(vals, float64(c.N))
		if c.Label == stored {
			at = i
		}
	}
	if at < 0 && r.Stored.Label != nil {
		at = len(names)
		names = append(names, trim(stored, 24))
		vals = append(vals, 0)
	}
	p := newPlot("", "replayed label", "runs")
	bars, err := plotter.NewBarChart(vals, vg.Points(28))
	if err != nil {
		return nil, 0, 0, err
	}
	bars.Color, bars.LineStyle.Width = barColor, 0
	p.Add(bars)
	if at >= 0 {
		m, err := plotter.NewScatter(plotter.XYs{{X: float64(at), Y: vals[at]}})
		if err != nil {
			return nil, 0, 0, err
		}
		m.GlyphStyle = vgdraw.GlyphStyle{Color: storedColor, Radius: vg.Points(6), Shape: vgdraw.PyramidGlyph{}}
		p.Add(m)
	}
	p.NominalX(names...)
	p.Y.Min = 0
	return p, vg.Points(math.Max(400, 80+60*float64(len(names)))), 2.4 * vg.Inch, nil
}

// nameWidth is the width (in runes) past which the rate plot wraps a
// system's name.
const nameWidth = 32

// wrap breaks s into lines of at most n runes: at a space, or after a
// hyphen, slash or comma, where one falls in the line's second half, and
// anywhere otherwise; nothing of s but the spaces it breaks at is dropped.
func wrap(s string, n int) string {
	var lines []string
	r := []rune(s)
	for len(r) > n {
		cut := n
		for i := n; i > n/2; i-- {
			if r[i] == ' ' {
				cut = i
				break
			}
			if strings.ContainsRune("-/,", r[i-1]) {
				cut = i
				break
			}
		}
		lines = append(lines, strings.TrimRight(string(r[:cut]), " "))
		r = []rune(strings.TrimLeft(string(r[cut:]), " "))
	}
	return strings.Join(append(lines, string(r)), "\n")
}

func trim(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
