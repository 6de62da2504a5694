package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/verdict"
)

// TestNightEmpty: a night that selects no record is INCONCLUSIVE, not ok,
// even with a minimum rate, and every report says why: the time bounds
// after the log, a filter that matches no row, timestamps that decode as
// 1970.
func TestNightEmpty(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 1, 20) // 2026-08-02T10:00:00Z to 10:00:19Z
	log1970 := filepath.Join(t.TempDir(), "log1970.parquet")
	writeLogAt(t, st, log1970, 1, 20, func(r *record.Record) { r.Timestamp = time.UnixMilli(r.Timestamp.Unix()).UTC() })
	nolabel, err := ingest.CompileWhere(`output.label == "no such label"`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, log string
		filter    ingest.Filter
		want      string
	}{
		{"since after the log", log, ingest.Filter{Time: record.TimeRange{Since: time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC)}},
			"no row matches --since 2026-08-03T00:00:00Z among the log's 20 rows; the log's timestamps run from 2026-08-02T10:00:00Z to 2026-08-02T10:00:19Z"},
		{"where matches nothing", log, ingest.Filter{Where: nolabel},
			`no row matches --where output.label == "no such label" among the log's 20 rows`},
		{"timestamps of 1970", log1970, ingest.Filter{Time: record.TimeRange{Since: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)}},
			"the log's timestamps run from 1970-01-21T"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := options(c.log, t.TempDir(), &fakeRunner{})
			o.Filter, o.MinRate = c.filter, 0.9
			n, err := Run(context.Background(), st, o)
			if err != nil {
				t.Fatal(err)
			}
			const lead = "nothing was replayed, which is no evidence of reproducibility: "
			if n.Outcome != OutcomeInconclusive || !strings.HasPrefix(n.Reason, lead) || !strings.Contains(n.Reason, c.want) {
				t.Fatalf("outcome %s, reason %q; want inconclusive, %q", n.Outcome, n.Reason, c.want)
			}
			if c.name == "timestamps of 1970" && !strings.Contains(n.Reason, "about 1970") {
				t.Errorf("reason %q does not point at the unit", n.Reason)
			}
			checkReportsSay(t, n, t.TempDir(), n.Reason)
		})
	}
}

// checkReportsSay writes n's reports into dir and checks that each says
// why (reason): report.json, junit.xml (a skipped testcase), summary.md,
// report.html, results.parquet's metadata, the brief and the annotations.
func checkReportsSay(t *testing.T, n *Night, dir, reason string) {
	t.Helper()
	if err := n.WriteReports(dir); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var rep struct{ Outcome, Reason string }
	if err := json.Unmarshal([]byte(read(ReportJSON)), &rep); err != nil || rep.Outcome != OutcomeInconclusive || rep.Reason != reason {
		t.Errorf("report.json: %+v %v", rep, err)
	}
	esc := func(s string) string { // as encoding/xml and render.HTML write it
		return strings.NewReplacer(`"`, "&#34;", "'", "&#39;", "<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(s)
	}
	if j := read(JUnitXML); !strings.Contains(j, `<testcase name="sample" classname="night">`) ||
		!strings.Contains(j, `<skipped message="INCONCLUSIVE" type="INCONCLUSIVE">`+esc(reason)+`</skipped>`) || !strings.Contains(j, `skipped="1"`) {
		t.Errorf("junit.xml:\n%s", j)
	}
	if md := read(SummaryMD); !strings.Contains(md, "## reprise nightly: inconclusive") || !strings.Contains(md, "**Why:** ") {
		t.Errorf("summary.md:\n%s", md)
	}
	if h := read(ReportHTML); !strings.Contains(h, "<b>Why:</b> "+esc(reason)) {
		t.Errorf("report.html lacks the reason")
	}
	f, err := parquet.OpenFile(bytes.NewReader([]byte(read(ResultsParquet))), int64(len(read(ResultsParquet))))
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := f.Lookup(MetaOutcome); o != OutcomeInconclusive {
		t.Errorf("results.parquet %s = %q", MetaOutcome, o)
	}
	if r, _ := f.Lookup(MetaReason); r != reason {
		t.Errorf("results.parquet %s = %q", MetaReason, r)
	}
	var b bytes.Buffer
	n.Brief(dir).Text(&b)
	if !strings.Contains(b.String(), "outcome: inconclusive\n") || !strings.Contains(b.String(), "why: "+reason+"\n") {
		t.Errorf("brief:\n%s", b.String())
	}
	if a := n.Annotations(); !strings.HasPrefix(a, "::error title=empty night::nothing was replayed") {
		t.Errorf("annotations: %q", a)
	}
}

// TestNightEmptyShard: a shard whose share of a non-empty sample is empty
// is ok (the other shards hold the sample), saying so; the merged night of
// its shards is what counts.
func TestNightEmptyShard(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 1, 10)
	var empty *Night
	var dirs []string
	for i := range 2 {
		o := options(log, t.TempDir(), &fakeRunner{})
		o.Shard, o.Replay.N = Shard{I: i, N: 2}, 50
		n, err := Run(context.Background(), st, o)
		if err != nil {
			t.Fatal(err)
		}
		if len(n.Records) == 0 {
			empty = n
		}
		dirs = append(dirs, o.Out)
	}
	if empty == nil {
		t.Fatal("both shards hold records; the test needs one empty")
	}
	if empty.Outcome != OutcomeOK || !strings.Contains(empty.Reason, "holds none of the 10 records of the night's sample (the other shards do)") {
		t.Errorf("empty shard: %s, %q", empty.Outcome, empty.Reason)
	}
	m, err := Merge(dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Records) != 10 || m.Reason != "" {
		t.Errorf("merged: %d records, reason %q", len(m.Records), m.Reason)
	}
}

// sameSizeLogs writes two logs of the same size at path and path+".b" that
// differ in content (a planted label of the same length), uncompressed so
// that the sizes agree.
func sameSizeLogs(t *testing.T, st store.Writer, path string) string {
	t.Helper()
	other := path + ".b"
	writeLogAt(t, st, path, 2, 10, nil, parquet.Compression(&parquet.Uncompressed))
	writeLogAt(t, st, other, 2, 10, func(r *record.Record) {
		if r.RequestID == "req_s0_003" {
			l := "referreX"
			r.Output.Label = &l
		}
	}, parquet.Compression(&parquet.Uncompressed))
	a, _ := os.Stat(path)
	b, _ := os.Stat(other)
	if a.Size() != b.Size() {
		t.Fatalf("the logs are %d and %d bytes; the test needs one size", a.Size(), b.Size())
	}
	return other
}

// TestNightLogRewritten: a log rewritten in place at the same size is
// another log: a night begun on it is not resumed, and shards of the two
// are not merged (both naming both digests).
func TestNightLogRewritten(t *testing.T) {
	st := store.NewMem()
	log := filepath.Join(t.TempDir(), "log.parquet")
	other := sameSizeLogs(t, st, log)
	da, _, _ := hashLog(context.Background(), log)
	db, _, _ := hashLog(context.Background(), other)
	rewrite := func() {
		b, err := os.ReadFile(other)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(log, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	o := options(log, out, &fakeRunner{})
	o.Replay.N = 50
	if _, err := Run(context.Background(), st, o); err != nil {
		t.Fatal(err)
	}
	var shards []string
	for i := range 2 {
		so := o
		so.Out, so.Shard = t.TempDir(), Shard{I: i, N: 2}
		if _, err := Run(context.Background(), st, so); err != nil {
			t.Fatal(err)
		}
		shards = append(shards, so.Out)
		if i == 0 {
			rewrite() // shard 1 runs on the rewritten log
		}
	}
	_, err := Run(context.Background(), st, o)
	if !errors.Is(err, ErrOtherNight) || !strings.Contains(err.Error(), "names log digest "+da.String()) || !strings.Contains(err.Error(), "is now "+db.String()) {
		t.Errorf("resume on a rewritten log: %v", err)
	}
	_, err = Merge(shards, nil)
	if !errors.Is(err, ErrShards) || !strings.Contains(err.Error(), "log digest "+db.String()+", the first shard's "+da.String()) {
		t.Errorf("merge of shards of two logs: %v", err)
	}
	c, err := ReadConfig(out)
	if err != nil || c.LogDigest != da {
		t.Errorf("night.json log digest %s, want %s (%v)", c.LogDigest, da, err)
	}
}

// TestNightJournalNotTaken: a resumed journal's line of a request id
// journaled before with another verdict, and one of a request id outside
// the sample, are warned about on the logger and counted in the night (a
// merge counts them too).
func TestNightJournalNotTaken(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 1, 10)
	out := t.TempDir()
	o := options(log, out, &fakeRunner{})
	o.Replay.N = 50
	if _, err := Run(context.Background(), st, o); err != nil {
		t.Fatal(err)
	}
	j, err := ReadJournal(out)
	if err != nil {
		t.Fatal(err)
	}
	flipped := j["req_s0_001"]
	was := flipped.ReplayVerdict
	flipped.ReplayVerdict = verdict.Diverged
	if was == verdict.Diverged {
		flipped.ReplayVerdict = verdict.Reproduced
	}
	foreign := j["req_s0_002"]
	foreign.RequestID = "req_not_in_the_sample"
	f, err := os.OpenFile(filepath.Join(out, JournalName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []Result{flipped, foreign} {
		b, _ := json.Marshal(r)
		f.Write(append(b, '\n'))
	}
	f.Close()
	var logged bytes.Buffer
	o.Replay.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	n, err := Run(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if n.Journal != (JournalCheck{Conflicts: 1, Foreign: 1}) {
		t.Errorf("journal check %+v, want 1 conflict and 1 foreign", n.Journal)
	}
	for _, want := range []string{
		`level=WARN msg="nightly: request id journaled again with another verdict, the later line taken"`, "request_id=req_s0_001 earlier=" + string(was) + " later=" + string(flipped.ReplayVerdict),
		`level=WARN msg="nightly: journal line of a request id outside the night's sample, ignored"`, `request_id=req_not_in_the_sample`,
	} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
	if !strings.Contains(n.Reason, "the journal held 1 lines of a request id already journaled with another verdict (the later taken) and 1 lines of request ids outside the sample (ignored)") {
		t.Errorf("reason %q", n.Reason)
	}
	for _, r := range n.Records {
		if r.RequestID == "req_not_in_the_sample" {
			t.Error("a foreign journal line was taken as a record")
		}
	}
	m, err := Merge([]string{out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Journal != n.Journal {
		t.Errorf("merged journal check %+v, want %+v", m.Journal, n.Journal)
	}
}

// TestNightWhereOverCost: a --where within its estimate that goes over its
// cost limit on rows (strings longer than the estimate assumes) stops the
// night, listing the rows and naming the limit and the flag.
func TestNightWhereOverCost(t *testing.T) {
	st := store.NewMem()
	log := filepath.Join(t.TempDir(), "log.parquet")
	writeLogAt(t, st, log, 1, 20, func(r *record.Record) {
		if r.RequestID == "req_s0_004" || r.RequestID == "req_s0_011" {
			r.System.Model.Name = strings.Repeat("n", 100_000)
		}
	})
	w, err := ingest.CompileWhereCost(`model.name.contains("x")`, 1000)
	if err != nil {
		t.Fatal(err)
	}
	o := options(log, t.TempDir(), &fakeRunner{})
	o.Filter.Where = w
	_, err = Run(context.Background(), st, o)
	want := `--where model.name.contains("x") went over its cost limit of 1000 on rows 5, 12; raise the limit with --where-cost-limit`
	if !errors.Is(err, ErrLog) || !errors.Is(err, ingest.ErrWhere) || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}
