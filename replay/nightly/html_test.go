package nightly

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/buildinfo"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/verdict"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func scoreResult(scores []float64, stored float64) Result {
	return Result{Scores: scores, Stored: Stored{Score: &stored}}
}

// pageNight is a small night built by hand: two systems (one with a long
// name), an exact match, a DIVERGED record whose stored label never came
// back (its score plot is of every label), one with a long why, an error.
func pageNight() *Night {
	longWhy := strings.Repeat("the stored label came back less often than the minimum frequency; ", 5)
	long := "fraud-scorer-with-a-very-long-model-name-for-wrapping 12.0.3-rc1 (sha256:0123456789ab, cpu/amd64/x86-64-v3)"
	cfg := &Config{Schema: ConfigSchema, Started: time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), Version: "v0.9.0 0123456789ab",
		Selection: Selection{Log: "logs/decisions.parquet", LogSize: 4096, LogDigest: digest.FromBytes([]byte("log")), Where: `system.model.name == "loan"`,
			Since: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), Sample: 2},
		Stratify: true, Seed: 9849917168238654823, N: 1000, ConfirmN: 1000, Rules: verdict.Rules{Alpha: 0.001},
		FDR: 0.05, MinRate: 0.5, Sampled: Sampled{Scanned: 300, Selected: 120, Drawn: 4}}
	approved, referred := "approved", "referred"
	rs := []Result{
		{RequestID: "req_exact", System: "a", SystemName: "loan 1 (sha256:aaaaaaaaaaaa, cpu/amd64/x86-64-v3)", ReplayVerdict: verdict.Reproduced,
			Basis: "exact", PValue: ptr(1.0), Why: "the pinned seed reproduced the stored output exactly", Reports: "records/req_exact",
			Stored: Stored{Label: &approved, Score: ptr(0.9)}},
		{RequestID: "req_div#1", System: "a", SystemName: "loan 1 (sha256:aaaaaaaaaaaa, cpu/amd64/x86-64-v3)", ReplayVerdict: verdict.Diverged,
			PValue: ptr(1e-9), Why: longWhy, Reports: "records/req_div#1", Stored: Stored{Label: &referred, Score: ptr(0.5)},
			Labels: []Count{{"approved", 90}, {"denied", 10}}, Scores: []float64{0.9, 0.9, 0.1, 0.9}, ScoresAllLabels: true},
		{RequestID: "req_long", System: "b", SystemName: long, ReplayVerdict: verdict.Reproduced, Basis: "behavioral",
			PValue: ptr(0.6), Why: longWhy, Reports: "records/req_long", Stored: Stored{Label: &approved}},
		{RequestID: "req_err", System: "b", SystemName: long, ReplayVerdict: verdict.Failed, Error: "container exited", ErrorClass: "environment"},
	}
	return Finalize(cfg, rs)
}

// TestHTMLGolden compares the page of pageNight with
// testdata/report.golden.html (go test -run TestHTMLGolden -update).
func TestHTMLGolden(t *testing.T) {
	got := pageNight().HTML()
	path := filepath.Join("testdata", "report.golden.html")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("report.html differs from %s (go test -run TestHTMLGolden -update, then read the diff)", path)
	}
}

// TestHTMLPage checks what the page says: the header's context, the
// viewport, links to every record's reports (escaped), the p-value
// histogram over tested records only, a score plot for the DIVERGED record
// whose stored label never came back, folded long reasons, full names, and
// plots in the page's font.
func TestHTMLPage(t *testing.T) {
	n := pageNight()
	page := n.HTML()
	for _, want := range []string{
		`<meta name="viewport" content="width=device-width, initial-scale=1">`,
		"<dt>date</dt><dd>2026-12-07 02:00:00 UTC</dd>",
		"<dt>log</dt><dd>logs/decisions.parquet (" + n.Config.LogDigest.String() + ", 4096 bytes)</dd>",
		"<dt>window</dt><dd>2026-12-06T00:00:00Z to 2026-12-07T00:00:00Z</dd>",
		"<dt>filter</dt><dd>system.model.name == &#34;loan&#34;</dd>",
		"<dt>sample</dt><dd>2 records per system: 4 drawn of 120 selected (300 rows scanned, 0 row errors)</dd>",
		"<dt>seed</dt><dd>9849917168238654823</dd>",
		"<dt>alpha</dt><dd>0.001 ",
		"<dt>FDR level</dt><dd>0.05 ",
		"<dt>reprise</dt><dd>v0.9.0 0123456789ab</dd>",
		`<a href="records/req_div%231/report.md">report</a>`,
		`<a href="records/req_exact/report.json">json</a>`,
		"<p>2 tested records; 2 not tested",
		"fraud-scorer-with-a-very-long-model-name-for-wrapping 12.0.3-rc1 (sha256:0123456789ab, cpu/amd64/x86-64-v3)</td>",
		"Replayed scores of every label (no replay gave the stored label); the line marks the stored score 0.5.",
		"the triangle marks the stored label &#34;referred&#34;, which no replay gave.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// Three records have a report folder; req_err has none.
	if got := strings.Count(page, `/report.md">report</a>`); got != 3+1 { // + the DIVERGED section's
		t.Errorf("%d report links, want 4", got)
	}
	if got := strings.Count(page, "<details>"); got != 3 { // the two long whys in the table, one in the DIVERGED section
		t.Errorf("%d folded reasons, want 3", got)
	}
	if strings.Contains(page, "Liberation") || !strings.Contains(page, "font-family:inherit") {
		t.Error("plots do not use the page's font")
	}
	svgs := svgRE.FindAllString(page, -1)
	if len(svgs) != 4 { // rate, p-values, the DIVERGED record's labels and scores
		t.Fatalf("%d plots, want 4", len(svgs))
	}
	for _, s := range svgs {
		parseSVG(t, s)
	}
	if got := strings.Count(svgs[1], "fill:#6699CC"); got != pValueBins {
		t.Errorf("p-value histogram: %d bars, want %d", got, pValueBins)
	}
	// The histogram's bars have heights only where a tested p-value is: one
	// record (p = 1e-9, in the first bin), not the exact match's p = 1.
	byID := map[string]Result{}
	for _, r := range n.Records {
		byID[r.RequestID] = r
	}
	if byID["req_exact"].QValue != nil || byID["req_div#1"].QValue == nil {
		t.Fatal("the exact match is tested, or the DIVERGED record is not")
	}
	if ps, untested := n.tested(); len(ps) != 2 || untested != 2 {
		t.Errorf("tested p-values %v, %d untested; want two (not the exact match's p = 1), 2", ps, untested)
	}
	if got := strings.Count(svgs[3], "stroke:#BB0000"); got != 1 {
		t.Errorf("score plot: %d stored-score lines, want 1", got)
	}
	// The long name is wrapped in the rate plot, not cut.
	var texts []string
	for _, m := range regexp.MustCompile(`>([^<]*)</text>`).FindAllStringSubmatch(svgs[0], -1) {
		texts = append(texts, m[1])
	}
	name := byID["req_long"].SystemName
	if all := strings.Join(texts, ""); !strings.Contains(all, strings.ReplaceAll(name, " ", "")) && !strings.Contains(strings.ReplaceAll(all, " ", ""), strings.ReplaceAll(name, " ", "")) {
		t.Errorf("rate plot lacks the full name %q: %q", name, texts)
	}
	if slices.Contains(texts, name) || slices.ContainsFunc(texts, func(s string) bool { return strings.Contains(name, s) && len([]rune(s)) > nameWidth }) {
		t.Errorf("rate plot does not wrap the long name: %q", texts)
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"loan 2.4.1 (sha256:0123456789ab, cpu)", 16, "loan 2.4.1\n(sha256:01234567\n89ab, cpu)"},
		{"fraud-scorer-with-long-name", 12, "fraud-scorer\n-with-long-\nname"},
		{"aaaaaaaaaaaaaaaaaaaa", 8, "aaaaaaaa\naaaaaaaa\naaaa"},
		{"", 4, ""},
	} {
		if got := wrap(c.in, c.n); got != c.want {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
		for _, l := range strings.Split(wrap(c.in, c.n), "\n") {
			if len([]rune(l)) > c.n {
				t.Errorf("wrap(%q, %d): line %q is too long", c.in, c.n, l)
			}
		}
	}
}

func TestHTMLWhy(t *testing.T) {
	if got := htmlWhy("a<b"); got != "a&lt;b" {
		t.Errorf("short why: %q", got)
	}
	long := strings.Repeat("x", foldAt+1)
	got := htmlWhy(long)
	if !strings.HasPrefix(got, "<details><summary>"+strings.Repeat("x", foldShown)+"…</summary>") || !strings.HasSuffix(got, long+"</details>") {
		t.Errorf("long why: %q", got)
	}
}

// TestNightVersion: a night's config carries the reprise that began it,
// the same word as every record and report (buildinfo.Version()).
func TestNightVersion(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log.jsonl")
	if err := os.WriteFile(log, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := newConfig(context.Background(), Options{Log: log, Replay: replay.Options{Sequential: true}})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Version != buildinfo.Version() || cfg.Version == "" || !cfg.Sequential || cfg.MaxRuns != verdict.DefaultMaxRuns {
		t.Errorf("config: version %q (want %q), sequential %v, max_runs %d", cfg.Version, buildinfo.Version(), cfg.Sequential, cfg.MaxRuns)
	}
}

// BenchmarkNightHTML renders the page of a night of 2000 records over 20
// systems, 20 of them DIVERGED with 500 scores each.
func BenchmarkNightHTML(b *testing.B) {
	approved, referred := "approved", "referred"
	var rs []Result
	scores := make([]float64, MaxScores)
	for i := range scores {
		scores[i] = float64(i%97) / 97
	}
	for i := range 2000 {
		r := Result{RequestID: fmt.Sprintf("req_%04d", i), System: fmt.Sprint(i % 20), SystemName: fmt.Sprintf("loan %d (sha256:aaaaaaaaaaaa, cpu/amd64/x86-64-v3)", i%20),
			ReplayVerdict: verdict.Reproduced, Basis: "behavioral", PValue: ptr(0.5), Why: "reproduced", Reports: "records/" + fmt.Sprintf("req_%04d", i),
			Stored: Stored{Label: &approved, Score: ptr(0.9)}}
		if i%100 == 7 {
			r.ReplayVerdict, r.PValue, r.Stored.Label = verdict.Diverged, ptr(1e-9), &referred
			r.Labels, r.Scores, r.ScoresAllLabels = []Count{{"approved", 900}, {"denied", 100}}, scores, true
		}
		rs = append(rs, r)
	}
	n := Finalize(&Config{FDR: 0.05}, rs)
	b.ResetTimer()
	for b.Loop() {
		if len(n.HTML()) == 0 {
			b.Fatal("empty page")
		}
	}
}
