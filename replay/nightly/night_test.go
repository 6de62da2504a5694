package nightly

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

const hw = "cpu/amd64/x86-64-v3"

// writeLog stores the blobs of systems and writes a Parquet decision log of
// perSystem records for each, every 10th record planted divergent (a label
// the system never answers). It returns the log's path and the planted ids.
func writeLog(t *testing.T, st store.Writer, systems, perSystem int) (string, map[string]bool) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "log.parquet")
	return path, writeLogAt(t, st, path, systems, perSystem, nil)
}

// writeLogAt writes the log writeLog writes at path, each record passed
// through edit (when not nil) before it is sealed and written, with the
// writer options wopts; it returns the planted ids.
func writeLogAt(t *testing.T, st store.Writer, path string, systems, perSystem int, edit func(*record.Record), wopts ...parquet.WriterOption) map[string]bool {
	t.Helper()
	ctx := context.Background()
	in, _ := st.PutBytes(ctx, []byte(`{"income": 1}`), store.Meta{})
	c, _ := st.PutBytes(ctx, []byte("config"), store.Meta{})
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := record.NewParquetWriter(f, wopts...)
	planted := map[string]bool{}
	for s := range systems {
		m, _ := st.PutBytes(ctx, []byte(fmt.Sprintf("model %d", s)), store.Meta{})
		for i := range perSystem {
			label, score := "approved", 0.9
			id := fmt.Sprintf("req_s%d_%03d", s, i)
			if i%10 == 3 {
				label, score = "referred", 0.5
				planted[id] = true
			}
			out := output.Output{Label: &label, Score: &score}
			rec := &record.Record{
				Schema: record.Schema, RequestID: id, Timestamp: time.Date(2026, 8, 2, 10, 0, i, 0, time.UTC),
				Input:   record.Input{Digest: in, MediaType: "application/json"},
				System:  system.System{Image: system.ImageRef{Digest: digest.MustParse("sha256:" + strings.Repeat("1", 64))}, Model: system.Artifact{Name: "loan", Version: fmt.Sprint(s), Digest: m}, Config: system.Artifact{Name: "c", Version: "1", Digest: c}},
				Runtime: record.Runtime{Protocol: "jsonl-stdio", HardwareClass: hw},
				Output:  record.Output{Output: out, Digest: digest.FromBytes(out.Canonical())},
			}
			if edit != nil {
				edit(rec)
			}
			rec.System.Seal()
			if err := w.Write(rec); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return planted
}

func options(log, out string, fr *fakeRunner) Options {
	return Options{
		Log: log, Out: out, Seed: 7, Parallel: 2,
		Replay:    replay.Options{N: testN, Rules: verdict.Rules{MinFrequency: 0.2}, Launch: launch.Options{HostClass: hw}},
		NewRunner: func(context.Context) (replay.Runner, error) { return fr, nil },
	}
}

func TestNightOneSessionPerSystem(t *testing.T) {
	st := store.NewMem()
	log, planted := writeLog(t, st, 2, 100)
	fr := &fakeRunner{}
	n, err := Run(context.Background(), st, options(log, t.TempDir(), fr))
	if err != nil {
		t.Fatal(err)
	}
	if got := fr.starts.Load(); got != 2 {
		t.Errorf("%d sessions started for 200 records over 2 systems, want 2", got)
	}
	if fr.closed.Load() != 2 {
		t.Errorf("%d sessions closed, want 2", fr.closed.Load())
	}
	if n.Counts.Records != 200 || n.Counts.Diverged != len(planted) || n.Counts.Reproduced != 200-len(planted) {
		t.Errorf("counts %+v, want %d diverged", n.Counts, len(planted))
	}
	for _, r := range n.Records {
		if (r.Verdict == verdict.Diverged) != planted[r.RequestID] {
			t.Errorf("%s: %s (replay %s, p %v, q %v)", r.RequestID, r.Verdict, r.ReplayVerdict, r.PValue, r.QValue)
		}
	}
	if n.Outcome != OutcomeDiverged || len(n.Systems) != 2 || n.Systems[0].Records != 100 {
		t.Errorf("outcome %s systems %+v", n.Outcome, n.Systems)
	}
}

func TestNightSampleIsSeededAndSharded(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 4, 50)
	ids := func(n *Night) string {
		var b []string
		for _, r := range n.Records {
			b = append(b, r.RequestID)
		}
		return strings.Join(b, ",")
	}
	run := func(seed uint64, stratify bool, shard Shard, out string) *Night {
		o := options(log, out, &fakeRunner{})
		o.Sample, o.Seed, o.Stratify, o.Shard = 20, seed, stratify, shard
		n, err := Run(context.Background(), st, o)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	a, b, c := run(1, false, Shard{}, t.TempDir()), run(1, false, Shard{}, t.TempDir()), run(2, false, Shard{}, t.TempDir())
	if len(a.Records) != 20 || ids(a) != ids(b) || ids(a) == ids(c) {
		t.Errorf("seeded sample: %d records; same seed equal: %v; other seed differs: %v", len(a.Records), ids(a) == ids(b), ids(a) != ids(c))
	}
	s := run(1, true, Shard{}, t.TempDir())
	if len(s.Records) != 80 || len(s.Systems) != 4 {
		t.Errorf("stratified: %d records over %d systems, want 20 of each of 4", len(s.Records), len(s.Systems))
	}
	// Shards merge into the unsharded night.
	var dirs []string
	for i := range 3 {
		d := t.TempDir()
		run(1, true, Shard{I: i, N: 3}, d)
		dirs = append(dirs, d)
	}
	m, err := Merge(dirs, nil)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(s.Records)
	jb, _ := json.Marshal(m.Records)
	if !bytes.Equal(ja, jb) || m.Outcome != s.Outcome {
		t.Errorf("merged shards differ from the unsharded night")
	}
	if _, err := Merge(dirs[:2], nil); err == nil {
		t.Error("merging 2 of 3 shards succeeded")
	}
}

// TestNightResume interrupts a night after some records (as a kill would:
// nothing after the last journal line survives) and continues it: no record
// is replayed twice once journaled, none is lost, and the results equal an
// uninterrupted night's.
func TestNightResume(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 2, 40)
	full, err := Run(context.Background(), st, options(log, t.TempDir(), &fakeRunner{}))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	o := options(log, out, &fakeRunner{})
	var once sync.Once
	o.Progress = func(p Progress) {
		if p.Done >= 25 {
			once.Do(cancel)
		}
	}
	if _, err := Run(ctx, st, o); err == nil {
		t.Fatal("the interrupted night did not report the interruption")
	}
	// A kill can tear the journal's last line.
	jf, _ := os.OpenFile(filepath.Join(out, JournalName), os.O_APPEND|os.O_WRONLY, 0)
	jf.WriteString(`{"request_id": "req_s1_0`)
	jf.Close()
	before, _ := ReadJournal(out)
	fr := &fakeRunner{}
	o = options(log, out, fr)
	var resumed int
	o.Progress = func(p Progress) { resumed = p.Resumed }
	n, err := Run(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if resumed != len(before) || resumed < 25 {
		t.Errorf("resumed %d, journal had %d", resumed, len(before))
	}
	if got, want := fr.runs.Load(), int64(testN*(80-len(before))); got != want {
		t.Errorf("the rerun made %d runs, want %d (only the records not journaled)", got, want)
	}
	b, _ := os.ReadFile(filepath.Join(out, JournalName))
	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("journal line %q: %v", line, err)
		}
		seen[r.RequestID]++
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s journaled %d times", id, k)
		}
	}
	if len(seen) != 80 {
		t.Errorf("%d records journaled, want 80", len(seen))
	}
	ja, _ := json.Marshal(full.Records)
	jb, _ := json.Marshal(n.Records)
	if !bytes.Equal(ja, jb) {
		t.Error("the resumed night's results differ from the uninterrupted night's")
	}
	// Another night in the same folder is refused.
	o.Seed = 99
	if _, err := Run(context.Background(), st, o); err == nil {
		t.Error("another night was run into the same folder")
	}
}

// TestNightThousandRecordsFourSessions is the quality bar: a night of 1000
// sampled records over 4 systems starts exactly 4 sessions.
func TestNightThousandRecordsFourSessions(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 4, 400)
	fr := &fakeRunner{}
	o := options(log, t.TempDir(), fr)
	o.Sample, o.Parallel, o.Replay.N = 1000, 4, 20
	n, err := Run(context.Background(), st, o)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Records) != 1000 || len(n.Systems) != 4 {
		t.Fatalf("%d records over %d systems", len(n.Records), len(n.Systems))
	}
	if got := fr.starts.Load(); got != 4 {
		t.Errorf("%d sessions started, want 4", got)
	}
}

// testN is the runs per record of these nights: enough for every check of
// the verdict rules to have power at the default alpha, so honest records
// are REPRODUCED and planted ones DIVERGED.
const testN = 1000

// TestReadConfigOldSchema: a night written by a reprise that sampled and
// computed p-values another way is refused, naming both schemas.
func TestReadConfigOldSchema(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(`{"schema":"reprise/nightly/v1"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := ReadConfig(dir)
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"reprise/nightly/v1"`) || !strings.Contains(err.Error(), ConfigSchema) {
		t.Fatalf("err = %v", err)
	}
}

// TestRunConditions: each thing wrong with a night's input is its own
// condition (cmd maps them all to the usage exit code), and each still
// prints as "nightly: invalid input: …".
func TestRunConditions(t *testing.T) {
	st := store.NewMem()
	log, _ := writeLog(t, st, 1, 10)
	begun := t.TempDir()
	o := options(log, begun, &fakeRunner{})
	o.Replay.N = 50
	if _, err := Run(context.Background(), st, o); err != nil {
		t.Fatal(err)
	}
	notLog := filepath.Join(t.TempDir(), "not.parquet")
	os.WriteFile(notLog, []byte("not parquet"), 0o644)
	for _, c := range []struct {
		name string
		edit func(*Options)
		want error
	}{
		{"fdr", func(o *Options) { o.FDR = 2 }, ErrOptions},
		{"confirm-n", func(o *Options) { o.Replay.Sequential, o.ConfirmN = true, -1 }, ErrOptions},
		{"missing log", func(o *Options) {
			o.Log = filepath.Join(t.TempDir(), "missing.parquet")
			o.Out = filepath.Join(t.TempDir(), "not-made") // a night that cannot start makes no folder
		}, ErrLog},
		{"not a log", func(o *Options) { o.Log = notLog }, ErrLog},
		{"other night", func(o *Options) { o.Out, o.Seed = begun, 8 }, ErrOtherNight},
		{"out is a file", func(o *Options) { o.Out = notLog }, ErrOut},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := options(log, t.TempDir(), &fakeRunner{})
			o.Replay.N = 50
			c.edit(&o)
			_, err := Run(context.Background(), st, o)
			if !errors.Is(err, c.want) || !strings.HasPrefix(err.Error(), "nightly: invalid input: ") {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.name == "missing log" {
				if _, err := os.Stat(o.Out); !errors.Is(err, os.ErrNotExist) {
					t.Fatalf("the output folder was made for a missing log: %v", err)
				}
			}
			for _, other := range []error{ErrOptions, ErrOut, ErrLog, ErrOtherNight, ErrConfig, ErrShards} {
				if other != c.want && errors.Is(err, other) {
					t.Errorf("err = %v is also %q", err, other.(*inputError).what)
				}
			}
		})
	}
	if _, err := Merge(nil, nil); !errors.Is(err, ErrShards) {
		t.Errorf("Merge(nil) = %v, want ErrShards", err)
	}
	if _, err := Merge([]string{begun, begun}, nil); !errors.Is(err, ErrShards) || !strings.Contains(err.Error(), "both shard") {
		t.Errorf("Merge of one folder twice = %v, want ErrShards", err)
	}
}
