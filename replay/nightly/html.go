package nightly

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/reprise-dev/reprise/render"
	"github.com/reprise-dev/reprise/verdict"
)

// The page's parts: report.html is htmlHead, then each of htmlSections in
// order, then htmlFoot. A new part of the night adds a section.
const (
	htmlHead = `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
		`<meta name="viewport" content="width=device-width, initial-scale=1"><title>reprise nightly</title><style>
body{font:14px system-ui,sans-serif;margin:1em auto;padding:0 1em;max-width:1000px;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}.num{white-space:nowrap;text-align:right}td,th{border:1px solid #ccc;padding:2px 6px;vertical-align:top;text-align:left}th{overflow-wrap:normal}
dl.context{display:grid;grid-template-columns:max-content 1fr;gap:2px 1em}dl.context dt{font-weight:600}dl.context dd{margin:0}
svg{display:block;max-width:100%;height:auto}figure{margin:0.5em 0}figcaption{color:#444}code{font-size:90%}details summary{cursor:pointer}
.DIVERGED{color:#b00}.REPRODUCED{color:#070}.INCONCLUSIVE{color:#a60}.ERROR{color:#555}</style></head><body>`
	htmlFoot = "</body></html>\n"
)

// htmlSections are the page's sections, in order; each writes one part.
func (n *Night) htmlSections() []func(*strings.Builder) {
	return []func(*strings.Builder){n.htmlHeader, n.htmlRates, func(b *strings.Builder) { b.WriteString(n.fleetHTML()) },
		n.htmlPValues, n.htmlDiverged, n.htmlRecords}
}

// foldAt is the length (in runes) past which a "why" is folded: its first
// foldShown runes are the summary of a details element holding it all.
const (
	foldAt    = 160
	foldShown = 120
)

// htmlWhy is why, escaped, folded in details/summary when long.
func htmlWhy(why string) string {
	r := []rune(why)
	if len(r) <= foldAt {
		return render.HTML(why)
	}
	return "<details><summary>" + render.HTML(string(r[:foldShown])) + "…</summary>" + render.HTML(why) + "</details>"
}

// htmlHeader writes the title, the outcome and what the night was: its
// date, log, window, filter, sample, seed, levels and reprise version.
func (n *Night) htmlHeader(b *strings.Builder) {
	e := render.HTML
	fmt.Fprintf(b, "<h1>reprise nightly: %s</h1><p>%s</p>", e(n.Outcome), e(n.Summary))
	if n.Reason != "" {
		fmt.Fprintf(b, `<p class="reason"><b>Why:</b> %s</p>`, e(n.Reason))
	}
	b.WriteString(`<dl class="context">`)
	for _, kv := range n.contextRows() {
		fmt.Fprintf(b, "<dt>%s</dt><dd>%s</dd>", e(kv[0]), e(kv[1]))
	}
	b.WriteString("</dl>")
}

// contextRows are the header's name–value pairs (plain text).
func (n *Night) contextRows() [][2]string {
	c := n.Config
	if c == nil {
		c = &Config{}
	}
	or := func(s, none string) string {
		if s == "" {
			return none
		}
		return s
	}
	date := "unknown"
	if !c.Started.IsZero() {
		date = c.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	log := or(c.Log, "none")
	if !c.LogDigest.IsZero() {
		log += fmt.Sprintf(" (%s, %d bytes)", c.LogDigest, c.LogSize)
	}
	rows := [][2]string{{"date", date}, {"log", log}, {"window", window(c.Since, c.Until)}, {"filter", or(c.Where, "none")},
		{"sample", sampleText(c)}, {"seed", fmt.Sprint(c.Seed)}}
	if c.Shard != "" {
		rows = append(rows, [2]string{"shard", c.Shard})
	}
	rows = append(rows, [2]string{"replays", replaysText(c)}, [2]string{"alpha", fmt.Sprintf("%g (each record's tests)", c.Rules.Alpha)},
		[2]string{"FDR level", fmt.Sprintf("%g (Benjamini–Hochberg across the night)", c.FDR)})
	if c.MinRate > 0 {
		rows = append(rows, [2]string{"min rate", fmt.Sprint(c.MinRate)})
	}
	return append(rows, [2]string{"reprise", or(c.Version, "unknown")})
}

// window is the night's time bounds in words.
func window(since, until time.Time) string {
	f := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	switch {
	case since.IsZero() && until.IsZero():
		return "the whole log"
	case until.IsZero():
		return "from " + f(since)
	case since.IsZero():
		return "until " + f(until)
	}
	return f(since) + " to " + f(until)
}

// sampleText is the sample asked for and what it drew from.
func sampleText(c *Config) string {
	s := "every selected record"
	if c.Sample > 0 {
		s = fmt.Sprintf("%d records", c.Sample)
		if c.Stratify {
			s += " per system"
		}
	}
	return fmt.Sprintf("%s: %d drawn of %d selected (%d rows scanned, %d row errors)", s, c.Drawn, c.Selected, c.Scanned, c.RowErrors)
}

// replaysText is how each record was replayed.
func replaysText(c *Config) string {
	if c.ConfirmN == 0 {
		return fmt.Sprintf("%d fresh-seed runs per record", c.N)
	}
	return fmt.Sprintf("sequential, at most %d runs; a record not reproduced exactly is confirmed with %d runs (then %d when inconclusive)",
		c.N, c.ConfirmN, c.ConfirmN*ConfirmGrowth)
}

// htmlRates writes the rate plot and the table of systems (full names,
// rates and their intervals).
func (n *Night) htmlRates(b *strings.Builder) {
	e := render.HTML
	b.WriteString("<h2>Reproducibility rate per system (95% Clopper–Pearson interval)</h2>")
	b.WriteString(svgOf(ratePlot(n)))
	b.WriteString(`<table class="systems"><tr><th>system</th><th>records</th><th>rate</th><th>95% interval</th></tr>`)
	for _, s := range n.Systems {
		flag := ""
		if s.BelowMin {
			flag = ` <b class="DIVERGED">below min rate</b>`
		}
		fmt.Fprintf(b, `<tr><td>%s</td><td>%d: %d reproduced, %d diverged, %d errors</td><td class="num">%.3f</td><td class="num">[%.3f, %.3f]%s</td></tr>`,
			e(s.Name), s.Records, s.Reproduced, s.Diverged, s.Errors, s.Rate, s.Lower, s.Upper, flag)
	}
	b.WriteString("</table>")
}

// tested are the p-values of the records the night tested (those with a
// q-value: see setQValues), and how many records were left out.
func (n *Night) tested() (ps []float64, untested int) {
	for _, r := range n.Records {
		if r.QValue != nil && r.PValue != nil {
			ps = append(ps, *r.PValue)
		} else {
			untested++
		}
	}
	return ps, untested
}

// htmlPValues writes the histogram of the tested records' p-values.
func (n *Night) htmlPValues(b *strings.Builder) {
	ps, untested := n.tested()
	b.WriteString("<h2>Per-record p-values</h2>")
	fmt.Fprintf(b, "<p>%d tested records; %d not tested (reproduced exactly by the pinned seed, errors, or no test).</p>", len(ps), untested)
	b.WriteString(svgOf(pValuePlot(ps)))
}

// htmlDiverged writes each DIVERGED record: its q-value, why, links, and
// its label and score plots.
func (n *Night) htmlDiverged(b *strings.Builder) {
	e := render.HTML
	b.WriteString("<h2>DIVERGED records</h2>")
	any := false
	for _, r := range n.Records {
		if r.Verdict != verdict.Diverged {
			continue
		}
		any = true
		q := "–"
		if r.QValue != nil {
			q = fmt.Sprintf("%.3g", *r.QValue)
		}
		fmt.Fprintf(b, `<h3>%s <small>%s</small></h3><p>q = %s. %s</p>`, e(r.RequestID), e(r.SystemName), q, reportLinks(r))
		fmt.Fprintf(b, "<div>%s</div>", htmlWhy(r.Why))
		if len(r.Labels) > 0 {
			fmt.Fprintf(b, "<figure>%s<figcaption>%s</figcaption></figure>", svgOf(labelPlot(r)), e(labelCaption(r)))
		}
		if len(r.Scores) > 0 {
			fmt.Fprintf(b, "<figure>%s<figcaption>%s</figcaption></figure>", svgOf(scorePlot(r)), e(scoreCaption(r)))
		}
	}
	if !any {
		b.WriteString("<p>none</p>")
	}
}

// htmlRecords writes the table of every record, each linked to its
// reports.
func (n *Night) htmlRecords(b *strings.Builder) {
	e := render.HTML
	b.WriteString(`<h2>Records</h2><table class="records"><tr><th>request</th><th>system</th><th>verdict</th><th>p</th><th>q</th><th>why</th></tr>`)
	for _, r := range n.Records {
		fmt.Fprintf(b, `<tr><td>%s<br>%s</td><td>%s</td><td class="%s">%s</td><td class="num">%s</td><td class="num">%s</td><td>%s</td></tr>`,
			e(r.RequestID), reportLinks(r), e(r.SystemName), e(string(r.Verdict)), e(string(r.Verdict)),
			render.OptFloat(r.PValue, "%.3g"), render.OptFloat(r.QValue, "%.3g"), htmlWhy(r.Why))
	}
	b.WriteString("</table>")
}

// reportLinks are links to a record's reports (report.md, report.json),
// relative to the page; "" for a record without reports.
func reportLinks(r Result) string {
	if r.Reports == "" {
		return ""
	}
	var segs []string
	for _, s := range strings.Split(r.Reports, "/") {
		segs = append(segs, url.PathEscape(s))
	}
	dir := strings.Join(segs, "/")
	return fmt.Sprintf(`<small><a href="%s/report.md">report</a> · <a href="%s/report.json">json</a></small>`, dir, dir)
}

// labelCaption says what a record's label plot shows.
func labelCaption(r Result) string {
	if r.Stored.Label == nil {
		return "Replayed labels (the record stores none)."
	}
	for _, c := range r.Labels {
		if c.Label == *r.Stored.Label {
			return fmt.Sprintf("Replayed labels; the triangle marks the stored label %q.", *r.Stored.Label)
		}
	}
	return fmt.Sprintf("Replayed labels; the triangle marks the stored label %q, which no replay gave.", *r.Stored.Label)
}

// scoreCaption says what a record's score plot shows.
func scoreCaption(r Result) string {
	of := "Replayed scores of the stored label"
	switch {
	case r.Stored.Label == nil:
		of = "Replayed scores"
	case r.ScoresAllLabels:
		of = "Replayed scores of every label (no replay gave the stored label)"
	}
	if len(r.Scores) == MaxScores {
		of += fmt.Sprintf(", the first %d", MaxScores)
	}
	if r.Stored.Score == nil {
		return of + "; the record stores no score."
	}
	return fmt.Sprintf("%s; the line marks the stored score %.4g.", of, *r.Stored.Score)
}
