package nightly

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/store"
)

func TestReports(t *testing.T) {
	st := store.NewMem()
	log, planted := writeLog(t, st, 2, 30)
	out := t.TempDir()
	n, err := Run(context.Background(), st, options(log, out, &fakeRunner{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WriteReports(out); err != nil {
		t.Fatal(err)
	}
	rows, err := parquet.ReadFile[ResultRow](filepath.Join(out, ResultsParquet))
	if err != nil {
		t.Fatal(err)
	}
	div := 0
	for _, r := range rows {
		if r.Verdict == "DIVERGED" {
			div++
			if !planted[r.RequestID] || r.QValue == nil || *r.QValue > 0.05 {
				t.Errorf("row %+v", r)
			}
		}
	}
	if len(rows) != 60 || div != len(planted) {
		t.Errorf("results.parquet: %d rows, %d diverged; want 60, %d", len(rows), div, len(planted))
	}
	b, _ := os.ReadFile(filepath.Join(out, JUnitXML))
	var ju junitSuites
	if err := xml.Unmarshal(b, &ju); err != nil {
		t.Fatal(err)
	}
	// 60 records and one fleet test case per system (neither flagged: 3
	// planted records of 30 are not a substitution the fleet test sees).
	last := ju.Suites[0].Cases[len(ju.Suites[0].Cases)-1]
	if last.Name != FleetCase || last.Failure != nil {
		t.Errorf("junit: the last case of a suite is %+v, want the passed %s", last, FleetCase)
	}
	if len(ju.Suites) != 2 || ju.Tests != 62 || ju.Failures != len(planted) || ju.Suites[0].Cases[3].Failure == nil ||
		!strings.Contains(ju.Suites[0].Cases[3].Failure.Text, "below the minimum frequency") {
		t.Errorf("junit: %d suites, %d tests, %d failures", len(ju.Suites), ju.Tests, ju.Failures)
	}
	h, _ := os.ReadFile(filepath.Join(out, ReportHTML))
	if string(h) != n.HTML() {
		t.Errorf("%s is not the night's HTML", ReportHTML)
	}
	if got := strings.Count(n.Annotations(), "::error "); got != len(planted) {
		t.Errorf("%d ::error annotations, want %d", got, len(planted))
	}
	for _, r := range rows {
		if r.FleetP == nil || *r.FleetP <= 0 || *r.FleetP >= 1 {
			t.Errorf("%s: fleet_p %v, want one in (0, 1)", r.RequestID, r.FleetP)
			break
		}
	}
	if !strings.Contains(n.HTML(), "<h2>Fleet substitution test</h2>") || !strings.Contains(n.Markdown(), "### Fleet substitution test") {
		t.Error("report.html or summary.md has no fleet substitution test section")
	}
	if md := n.Markdown(); !strings.Contains(md, "| loan 0 (") || !strings.Contains(md, "### DIVERGED") {
		t.Errorf("summary:\n%s", md)
	}
}

// svgNS is the SVG namespace: the one address an inline SVG may hold.
const svgNS = "http://www.w3.org/2000/svg"

var svgRE = regexp.MustCompile(`(?s)<svg .*?</svg>`)

// parseSVG checks that s is one well-formed XML element, <svg> in the SVG
// namespace.
func parseSVG(t *testing.T, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	first := true
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v\n%.300s", err, s)
		}
		if se, ok := tok.(xml.StartElement); ok && first {
			first = false
			if se.Name.Local != "svg" || se.Name.Space != svgNS {
				t.Fatalf("first element %v, want svg in %s", se.Name, svgNS)
			}
		}
	}
	if first {
		t.Fatal("no element in the SVG")
	}
}

// TestReportHTMLPlots checks report.html's plots (gonum/plot, inline SVG):
// the page names no address but the SVG namespace, loads nothing, and holds
// the rate plot, the p-value histogram with pValueBins bars, and for each
// DIVERGED record its label distribution with one marker on the stored label.
func TestReportHTMLPlots(t *testing.T) {
	st := store.NewMem()
	log, planted := writeLog(t, st, 2, 30)
	o := options(log, t.TempDir(), &fakeRunner{})
	o.MinRate = 0.95
	n, err := Run(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	page := n.HTML()
	if got, ns := strings.Count(page, "http"), strings.Count(page, svgNS); got != ns || ns == 0 {
		t.Errorf("report.html holds %d addresses, %d of them the SVG namespace: %q", got, ns, regexp.MustCompile(`https?://[^"' ]*`).FindAllString(page, -1))
	}
	for _, bad := range []string{"src=", "<script", "url(", "@import", "<?xml"} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html holds %q", bad)
		}
	}
	// Its only links are to the records' reports, relative to the page.
	links := regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1)
	for _, l := range links {
		if !regexp.MustCompile(`^records/[^/]+/report\.(md|json)$`).MatchString(l[1]) {
			t.Errorf("report.html links to %q", l[1])
		}
	}
	if len(links) != 2*(len(n.Records)+len(planted)) {
		t.Errorf("%d links for %d records (%d DIVERGED), want 2 per record and 2 more per DIVERGED", len(links), len(n.Records), len(planted))
	}
	if len(page) > 200<<10 {
		t.Errorf("report.html is %d bytes for %d records", len(page), len(n.Records))
	}
	svgs := svgRE.FindAllString(page, -1)
	// The rate plot, the p-value histogram, and a label plot and a score
	// plot per DIVERGED record (the planted label is never replayed: the
	// score plot is of every label's scores).
	if len(svgs) != 2+2*len(planted) || n.Counts.Diverged != len(planted) {
		t.Fatalf("%d plots for %d DIVERGED records, want %d", len(svgs), n.Counts.Diverged, 2+2*len(planted))
	}
	for _, s := range svgs {
		parseSVG(t, s)
	}
	rate, hist := svgs[0], svgs[1]
	if got := strings.Count(rate, "fill:#0066CC"); got != len(n.Systems) {
		t.Errorf("rate plot: %d points, want one per system (%d)", got, len(n.Systems))
	}
	if got := strings.Count(rate, "stroke:#E08000"); got != 1 {
		t.Errorf("rate plot: %d --min-rate lines, want 1", got)
	}
	if got := strings.Count(hist, "fill:#6699CC"); got != pValueBins {
		t.Errorf("p-value histogram: %d bars, want %d", got, pValueBins)
	}
	for i := range len(planted) {
		if s := svgs[3+2*i]; strings.Count(s, "stroke:#BB0000") != 1 || !strings.Contains(page, "Replayed scores of every label") {
			t.Errorf("score plot %d: no stored-score line, or not said to be of every label", i)
		}
	}
	for i, s := range svgs[2:] {
		if i%2 == 1 {
			continue // a score plot
		}
		if got := strings.Count(s, "#BB0000"); got != 1 {
			t.Errorf("label plot %d: %d stored-output markers, want 1", i, got)
		}
		// approved and denied replayed, plus the stored label at 0
		if got := strings.Count(s, "fill:#6699CC"); got != 3 {
			t.Errorf("label plot %d: %d bars, want 3", i, got)
		}
		if !strings.Contains(s, ">referred</text>") {
			t.Errorf("label plot %d does not name the stored label", i)
		}
	}
	// A night with no record still draws its two (empty) plots.
	empty := svgRE.FindAllString(Finalize(&Config{FDR: 0.05}, nil).HTML(), -1)
	if len(empty) != 2 {
		t.Fatalf("empty night: %d plots, want 2", len(empty))
	}
	for _, s := range empty {
		parseSVG(t, s)
		if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
			t.Errorf("empty night's plot holds NaN or Inf:\n%s", s)
		}
	}
}

// TestScoreAndLabelPlots checks a DIVERGED record's score histogram (one
// line for the stored score, scoreBins bars) and that labels are escaped.
func TestScoreAndLabelPlots(t *testing.T) {
	score := svgOf(scorePlot(scoreResult([]float64{0.5, 0.52, 0.55, 0.6, 0.6, 0.6, 0.7}, 0.93)))
	parseSVG(t, score)
	if got := strings.Count(score, "stroke:#BB0000"); got != 1 {
		t.Errorf("score plot: %d stored-score lines, want 1", got)
	}
	if got := strings.Count(score, "fill:#6699CC"); got != scoreBins {
		t.Errorf("score plot: %d bars, want %d", got, scoreBins)
	}
	// One value only: the range widens around it.
	parseSVG(t, svgOf(scorePlot(scoreResult([]float64{0.5, 0.5}, 0.5))))

	odd := `a<b&"c"`
	r := Result{Stored: Stored{Label: &odd}, Labels: []Count{{Label: "approved", N: 7}, {Label: odd, N: 2}}}
	lab := svgOf(labelPlot(r))
	parseSVG(t, lab)
	if !strings.Contains(lab, "a&lt;b&amp;") || strings.Count(lab, "#BB0000") != 1 || strings.Count(lab, "fill:#6699CC") != 2 {
		t.Errorf("label plot with an odd label:\n%s", lab)
	}
}
