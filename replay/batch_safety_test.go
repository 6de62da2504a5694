package replay

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
)

func batchOf(t *testing.T, st Blobs, sys *fakeSystem, out string, single bool, recs ...*record.Record) []Outcome {
	t.Helper()
	var srcs []Source
	for i, r := range recs {
		srcs = append(srcs, Source{Name: "rec" + string(rune('A'+i)) + ".json", Load: func() (*record.Record, error) { return r, nil }})
	}
	opts := BatchOptions{
		Options: Options{N: 20, Launch: launch.Options{HostClass: hw}},
		Out:     out, Single: single,
		NewRunner: func(context.Context) (Runner, error) { return sys, nil },
	}
	var outs []Outcome
	Batch(context.Background(), st, slices.Values(srcs), opts, func(o Outcome) bool { outs = append(outs, o); return true })
	return outs
}

// TestBatchDuplicateRequestID: a second record with the same request id is
// refused, naming the first, and the first's reports are kept.
func TestBatchDuplicateRequestID(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.9, 0.1}, failAt: -1}
	st, rec := newRecord(t, sys, 3, "approved", 0.9)
	out := t.TempDir()
	outs := batchOf(t, st, sys, out, false, rec, rec)
	if outs[0].Err != nil || outs[0].Reports == "" {
		t.Fatalf("first: %+v", outs[0])
	}
	if !errors.Is(outs[1].Err, ErrDuplicateRequest) || !strings.Contains(outs[1].Err.Error(), "recA.json") || outs[1].Reports != "" {
		t.Fatalf("second: %+v", outs[1])
	}
	if sys.starts != 1 {
		t.Fatalf("%d sessions, want 1", sys.starts)
	}
	if _, err := os.Stat(filepath.Join(out, rec.RequestID, "report.json")); err != nil {
		t.Fatal(err)
	}
}

// TestBatchLockedFolder: a replay into a folder another replay holds fails
// (ErrLocked, a usage error) and writes nothing there.
func TestBatchLockedFolder(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.9, 0.1}, failAt: -1}
	st, rec := newRecord(t, sys, 3, "approved", 0.9)
	dir := t.TempDir()
	unlock, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	outs := batchOf(t, st, sys, dir, true, rec)
	if !errors.Is(outs[0].Err, ErrLocked) || !strings.HasPrefix(outs[0].Err.Error(), "invalid input: ") || !strings.Contains(outs[0].Err.Error(), dir) {
		t.Fatalf("outcome: %+v", outs[0])
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
		t.Fatal("a locked folder got a report")
	}
	unlock()
	if outs := batchOf(t, st, sys, dir, true, rec); outs[0].Err != nil {
		t.Fatalf("after unlock: %v", outs[0].Err)
	}
}

// TestBatchJournalSymlinkAndLeftover: a symlink planted at the journal's
// name is not followed (its target keeps its bytes), and a journal left by
// a killed replay is kept under another name, said in the outcome and the
// report.
func TestBatchJournalSymlinkAndLeftover(t *testing.T) {
	sys := &fakeSystem{labels: []string{"approved", "denied"}, probs: []float64{0.9, 0.1}, failAt: -1}
	st, rec := newRecord(t, sys, 3, "approved", 0.9)
	for _, planted := range []string{"symlink", "leftover"} {
		t.Run(planted, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(t.TempDir(), "victim")
			os.WriteFile(victim, []byte("precious"), 0o644)
			journal := filepath.Join(dir, JournalName)
			if planted == "symlink" {
				os.Symlink(victim, journal)
			} else {
				os.WriteFile(journal, []byte(`{"run":0}`+"\n"), 0o644)
			}
			outs := batchOf(t, st, sys, dir, true, rec)
			if outs[0].Err != nil {
				t.Fatal(outs[0].Err)
			}
			if b, _ := os.ReadFile(victim); string(b) != "precious" {
				t.Fatalf("symlink target overwritten: %q", b)
			}
			kept, _ := filepath.Glob(filepath.Join(dir, "runs.journal.*.jsonl"))
			if len(kept) != 1 {
				t.Fatalf("kept journals: %v", kept)
			}
			if planted == "leftover" {
				if b, _ := os.ReadFile(kept[0]); string(b) != `{"run":0}`+"\n" {
					t.Fatalf("kept journal: %q", b)
				}
			}
			if len(outs[0].Notes) != 1 || !strings.Contains(outs[0].Notes[0], kept[0]) {
				t.Fatalf("notes: %v", outs[0].Notes)
			}
			rep, _ := os.ReadFile(filepath.Join(dir, "report.json"))
			if !strings.Contains(string(rep), filepath.Base(kept[0])) {
				t.Fatalf("report.json does not mention the kept journal:\n%s", rep)
			}
		})
	}
}
