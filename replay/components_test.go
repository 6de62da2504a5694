package replay

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/store"
)

// TestReportComponents: report.json and report.md list the record's pinned
// components by name and digest; a record without components lists none.
func TestReportComponents(t *testing.T) {
	ctx := context.Background()
	sys := &fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.8, 0.2}, failAt: -1}
	st, rec := newRecord(t, sys, 42, "approved", 0.8)
	res, err := Replay(ctx, st, rec, sys, Options{N: 10, Launch: launch.Options{HostClass: hw}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Record.Components != nil || strings.Contains(res.Report.Markdown(), "| component ") {
		t.Fatalf("a record without components lists %v", res.Report.Record.Components)
	}
	comps := map[string]digest.Digest{}
	for _, n := range []string{"prompt", "index", "embeddings"} {
		d, err := st.PutBytes(ctx, []byte(n+" v1"), store.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		comps[n] = d
	}
	rec.System.Components = comps
	rec.System.Seal()
	res, err = Replay(ctx, st, rec, sys, Options{N: 10, Launch: launch.Options{HostClass: hw}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res.Report)
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for n, d := range comps {
		if back.Record.Components[n] != d.String() {
			t.Errorf("report.json component %s = %q, want %s", n, back.Record.Components[n], d)
		}
	}
	md := res.Report.Markdown()
	want := "| config | c 1 (" + rec.System.Config.Digest.String() + ") |\n" +
		"| component embeddings | `" + comps["embeddings"].String() + "` |\n" +
		"| component index | `" + comps["index"].String() + "` |\n" +
		"| component prompt | `" + comps["prompt"].String() + "` |\n"
	if !strings.Contains(md, want) {
		t.Errorf("report.md lacks the component rows in order:\n%s", md)
	}
}
