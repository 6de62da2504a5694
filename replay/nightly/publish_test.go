package nightly

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/verdict"
)

func TestDefaultOut(t *testing.T) {
	at := time.Date(2026, 8, 2, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)) // 2026-08-03 in UTC
	for _, c := range []struct {
		s    Shard
		want string
	}{
		{Shard{}, filepath.Join("out", "nightly-2026-08-03")},
		{Shard{I: 1, N: 3}, filepath.Join("out", "nightly-2026-08-03-shard-1-of-3")},
	} {
		if got := DefaultOut(at, c.s); got != c.want {
			t.Errorf("DefaultOut(%v) = %q, want %q", c.s, got, c.want)
		}
	}
}

// TestPublishGitHub: under GitHub Actions the summary is appended to
// $GITHUB_STEP_SUMMARY and the DIVERGED records become ::error lines on w;
// elsewhere w gets nothing.
func TestPublishGitHub(t *testing.T) {
	n := Finalize(&Config{FDR: 0.05}, []Result{
		{RequestID: "req_ok", System: "s", SystemName: "s", ReplayVerdict: verdict.Reproduced, Basis: "exact"},
		{RequestID: "req_bad", System: "s", SystemName: "s", ReplayVerdict: verdict.Diverged, PValue: ptr(1e-9)},
	})
	summary := filepath.Join(t.TempDir(), "summary.md")
	os.WriteFile(summary, []byte("before\n"), 0o644)
	env := map[string]string{"GITHUB_STEP_SUMMARY": summary, "GITHUB_ACTIONS": "true"}
	var w bytes.Buffer
	if err := n.Publish(t.TempDir(), &w, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(summary)
	if !strings.HasPrefix(string(b), "before\n") || !strings.Contains(string(b), "req_bad") {
		t.Errorf("step summary:\n%s", b)
	}
	if !strings.Contains(w.String(), "::error title=DIVERGED req_bad::") {
		t.Errorf("annotations:\n%s", w.String())
	}
	w.Reset()
	if err := n.Publish(t.TempDir(), &w, func(string) string { return "" }); err != nil || w.Len() > 0 {
		t.Errorf("outside GitHub: err %v, wrote %q", err, w.String())
	}
	br := n.Brief("night")
	if len(br.Diverged) != 1 || br.Diverged[0].RequestID != "req_bad" {
		t.Errorf("brief's diverged: %+v", br.Diverged)
	}
}

func ptr(v float64) *float64 { return &v }

// TestProgressWriter: on a terminal one bar redrawn in place, ending with
// a newline; elsewhere a line about every tenth of the night.
func TestProgressWriter(t *testing.T) {
	started := time.Unix(0, 0)
	now := func() time.Time { return started.Add(10 * time.Second) }
	show := func(tty bool) string {
		var b bytes.Buffer
		w := NewProgressWriter(&b, tty, now, started)
		for done := 1; done <= 20; done++ {
			w.Show(Progress{Done: done, Total: 20, Finished: true, Counts: map[verdict.Verdict]int{verdict.Reproduced: done}})
		}
		return b.String()
	}
	bar := show(true)
	if strings.Count(bar, "\r") != 20 || !strings.HasSuffix(bar, "\n") || strings.Count(bar, "\n") != 1 ||
		!strings.Contains(bar, "[##############################] 20/20  REPRODUCED 20") {
		t.Errorf("bar: %q", bar)
	}
	lines := strings.Split(strings.TrimSuffix(show(false), "\n"), "\n")
	// A line at the first record, then one each 20/10 = 2 records; the
	// ETA is 10 s per record times the records left.
	if len(lines) != 11 || lines[0] != "nightly: 1/20 records  REPRODUCED 1  DIVERGED 0  INCONCLUSIVE 0  ERROR 0  ETA 3m10s" ||
		lines[10] != "nightly: 20/20 records  REPRODUCED 20  DIVERGED 0  INCONCLUSIVE 0  ERROR 0  ETA 0s" {
		t.Errorf("lines: %q", lines)
	}
}
