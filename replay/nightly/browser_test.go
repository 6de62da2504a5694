package nightly

import (
	"context"
	"encoding/json"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/fixtures/browsertest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// pageCheck measures what a reader of the page sees, in the browser: the
// viewport's and the document's widths, elements that pass the right edge,
// every link (resolved), every plot's size and font, plot texts outside
// their plot, and the page's visible text. It writes its findings as JSON
// into a <pre id="reprise-check">.
const pageCheck = `<script>(function(){
const de=document.documentElement, vw=de.clientWidth, r={vw:vw, scrollWidth:de.scrollWidth, overflow:[], clipped:[]};
for (const el of document.body.querySelectorAll('*')) {
  const b=el.getBoundingClientRect();
  if (b.width>0 && b.right>vw+0.5 && r.overflow.length<20) r.overflow.push(el.tagName+' '+(el.textContent||'').slice(0,40)+' right='+Math.round(b.right));
}
r.links=[...document.querySelectorAll('a[href]')].map(a=>a.href);
r.bodyFont=getComputedStyle(document.body).fontFamily;
r.plots=[...document.querySelectorAll('svg')].map(s=>{
  const b=s.getBoundingClientRect(), ts=[...s.querySelectorAll('text')];
  for (const t of ts) { const tb=t.getBoundingClientRect(); if (tb.left<b.left-0.5||tb.right>b.right+0.5||tb.top<b.top-0.5||tb.bottom>b.bottom+0.5) r.clipped.push(t.textContent+' '+[tb.left-b.left,b.right-tb.right,tb.top-b.top,b.bottom-tb.bottom].map(Math.round).join(',')); }
  return {w:b.width, h:b.height, texts:ts.length, fonts:[...new Set(ts.map(t=>getComputedStyle(t).fontFamily))]};
});
r.viewport=(document.querySelector('meta[name=viewport]')||{}).content||'';
r.text=document.body.innerText;
const pre=document.createElement('pre'); pre.id='reprise-check'; pre.textContent=JSON.stringify(r); document.body.appendChild(pre);
})();</script>`

type pageFindings struct {
	VW          int      `json:"vw"`
	ScrollWidth int      `json:"scrollWidth"`
	Overflow    []string `json:"overflow"`
	Clipped     []string `json:"clipped"`
	Links       []string `json:"links"`
	BodyFont    string   `json:"bodyFont"`
	Plots       []struct {
		W, H  float64
		Texts int
		Fonts []string
	} `json:"plots"`
	Viewport string `json:"viewport"`
	Text     string `json:"text"`
}

var checkRE = regexp.MustCompile(`(?s)<pre id="reprise-check">(.*?)</pre>`)

// TestReportHTMLInBrowser renders a night's report.html in headless
// Chromium at a desktop width and at 500 px (the narrowest window
// headless Chromium opens) and checks what a person sees:
// nothing passes the right edge, every link opens a file of the night,
// every plot is drawn (in the page's font, no text cut off), and the
// header's context is on the page. Screenshots go to
// $REPRISE_SCREENSHOT_DIR when set (else the test's temporary folder).
func TestReportHTMLInBrowser(t *testing.T) {
	br := browsertest.Require(t)
	st := store.NewMem()
	long := "fraud-scorer-with-a-very-long-model-name-that-must-wrap"
	log := filepath.Join(t.TempDir(), "log.parquet")
	planted := writeLogAt(t, st, log, 2, 30, func(r *record.Record) {
		if r.System.Model.Version == "1" {
			r.System.Model.Name = long
		}
	})
	out := t.TempDir()
	o := options(log, out, &fakeRunner{})
	o.MinRate = 0.95
	n, err := Run(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WriteReports(out); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, ReportHTML))
	if err != nil {
		t.Fatal(err)
	}
	// The checked copy sits beside report.html, so its links resolve alike.
	checked := filepath.Join(out, "check.html")
	if err := os.WriteFile(checked, []byte(strings.Replace(string(page), "</body>", pageCheck+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("REPRISE_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	for _, size := range []struct {
		name string
		w, h int
	}{{"desktop", 1280, 2400}, {"narrow", 500, 2400}} {
		t.Run(size.name, func(t *testing.T) {
			f := findings(t, br.DumpDOM(t, fileURL(checked), size.w, size.h))
			checkPage(t, f, n, out, len(planted))
			shot := filepath.Join(shots, "nightly-report-"+size.name+".png")
			br.Screenshot(t, fileURL(filepath.Join(out, ReportHTML)), shot, size.w, size.h)
			t.Logf("screenshot %s", shot)
		})
	}
}

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: path}).String()
}

// findings are the page check's findings in a dumped DOM.
func findings(t *testing.T, dom string) pageFindings {
	t.Helper()
	m := checkRE.FindStringSubmatch(dom)
	if m == nil {
		t.Fatalf("the page check did not run; DOM:\n%.2000s", dom)
	}
	var f pageFindings
	if err := json.Unmarshal([]byte(html.UnescapeString(m[1])), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkPage checks one rendering's findings for night n written in out
// with planted DIVERGED records.
func checkPage(t *testing.T, f pageFindings, n *Night, out string, planted int) {
	t.Helper()
	if f.ScrollWidth > f.VW || len(f.Overflow) > 0 {
		t.Errorf("horizontal overflow at %d px: document %d px wide; past the edge: %q", f.VW, f.ScrollWidth, f.Overflow)
	}
	if want := 2 * (len(n.Records) + planted); len(f.Links) != want {
		t.Errorf("%d links, want %d", len(f.Links), want)
	}
	for _, l := range f.Links {
		u, err := url.Parse(l)
		if err != nil || u.Scheme != "file" || !strings.HasPrefix(u.Path, out+"/") {
			t.Errorf("link %q leaves the night's folder", l)
			continue
		}
		if st, err := os.Stat(u.Path); err != nil || st.Size() == 0 {
			t.Errorf("link %q does not resolve: %v", l, err)
		}
	}
	if want := 2 + 2*planted; len(f.Plots) != want {
		t.Fatalf("%d plots, want %d", len(f.Plots), want)
	}
	for i, p := range f.Plots {
		if p.W < 200 || p.H < 50 || p.Texts == 0 {
			t.Errorf("plot %d: %.0f × %.0f px, %d texts: not drawn", i, p.W, p.H, p.Texts)
		}
		if len(p.Fonts) != 1 || p.Fonts[0] != f.BodyFont {
			t.Errorf("plot %d in fonts %q, the page in %q", i, p.Fonts, f.BodyFont)
		}
	}
	if len(f.Clipped) > 0 {
		t.Errorf("%d plot texts drawn outside their plot (text, then its room left, right, top, bottom in px): %q", len(f.Clipped), f.Clipped)
	}
	if !strings.Contains(f.Viewport, "width=device-width") {
		t.Errorf("viewport meta %q", f.Viewport)
	}
	for _, want := range []string{"date", n.Config.Started.UTC().Format("2006-01-02"), "log", n.Config.LogDigest.String(), "window",
		"filter", "sample", "seed", "alpha", "FDR level", "reprise", long(n), string(verdict.Diverged)} {
		if !strings.Contains(f.Text, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
}

// long is the long system name of the night (the table shows it whole).
func long(n *Night) string {
	for _, s := range n.Systems {
		if strings.HasPrefix(s.Name, "fraud-scorer") {
			return s.Name
		}
	}
	return "fraud-scorer (missing)"
}
