package nightly

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
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
	if len(ju.Suites) != 2 || ju.Tests != 60 || ju.Failures != len(planted) || ju.Suites[0].Cases[3].Failure == nil ||
		!strings.Contains(ju.Suites[0].Cases[3].Failure.Text, "below the minimum frequency") {
		t.Errorf("junit: %d suites, %d tests, %d failures", len(ju.Suites), ju.Tests, ju.Failures)
	}
	h, _ := os.ReadFile(filepath.Join(out, ReportHTML))
	page := string(h)
	if strings.Count(page, "<svg") < 2+len(planted) || strings.Contains(page, "src=") || strings.Contains(page, "href=") || strings.Contains(page, "<script") {
		t.Errorf("report.html is not one self-contained page with its plots")
	}
	if got := strings.Count(n.Annotations(), "::error "); got != len(planted) {
		t.Errorf("%d ::error annotations, want %d", got, len(planted))
	}
	if md := n.Markdown(); !strings.Contains(md, "| loan 0 (") || !strings.Contains(md, "### DIVERGED") {
		t.Errorf("summary:\n%s", md)
	}
}
