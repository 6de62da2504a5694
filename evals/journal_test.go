package evals

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/system"
)

// crashingSession is fakeSession that fails from call failAt on (0-based),
// as a real session reports a crash: a *runners.RunError of the run.
type crashingSession struct {
	fakeSession
	failAt int
}

func (c *crashingSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	if c.calls == c.failAt {
		return runners.Response{}, &runners.RunError{Run: c.calls, Err: fmt.Errorf("%w: killed", runners.ErrCrashed)}
	}
	return c.fakeSession.Run(ctx, req)
}

// TestRunJournalResume: a run that fails after 5 of 8 answers has journaled
// those 5; resumed from the journal (whose last line a kill cut short), it
// sends only the 3 missing requests and gives the rows of an uninterrupted
// run (latencies aside, which the fake does not set).
func TestRunJournalResume(t *testing.T) {
	ctx := context.Background()
	s, _ := LoadDir(writeSuite(t, labelSpec, labelItems+`{"id":"e","input":{"x":99},"reference":"denied"}`+"\n"))
	sys := digest.FromBytes([]byte("sys"))
	want, err := Run(ctx, &fakeSession{}, s, sys, RunOptions{Epochs: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	m := &RunManifest{Suite: s.Digest, System: system.System{ID: sys}, RunSeed: 5, Epochs: 2}
	j, err := OpenRunJournal(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := Run(ctx, &crashingSession{failAt: 5}, s, sys, RunOptions{Epochs: 2, Seed: 5, Journal: j})
	if !errors.Is(err, runners.ErrCrashed) {
		t.Fatalf("crash: %v", err)
	}
	if err := j.Interrupted(err, rows); !strings.Contains(err.Error(), "run the same command again to resume") || !strings.Contains(err.Error(), j.Path()) {
		t.Fatalf("interrupted: %v", err)
	}
	j.Close()
	b, _ := os.ReadFile(JournalPath(dir, m))
	if strings.Count(string(b), "\n") != 5 {
		t.Fatalf("journal:\n%s", b)
	}
	// A line cut short by a kill.
	os.WriteFile(JournalPath(dir, m), append(b, `{"suite_digest":"sha256:`...), 0o644)
	j, err = OpenRunJournal(dir, m)
	if err != nil || len(j.Resume()) != 5 {
		t.Fatalf("journal: %v, %v", j, err)
	}
	f := &fakeSession{}
	got, err := Run(ctx, f, s, sys, RunOptions{Epochs: 2, Seed: 5, Resume: j.Resume(), Journal: j})
	if err != nil || f.calls != 3 || len(got) != len(want) {
		t.Fatalf("resumed: %v, %d calls, %d rows", err, f.calls, len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// The torn line was cut away: the journal holds the 8 rows, one a line.
	if b, _ := os.ReadFile(JournalPath(dir, m)); strings.Count(string(b), "\n") != 8 || strings.Contains(string(b), `"sha256:{`) {
		t.Fatalf("journal after resuming:\n%s", b)
	}
	// Journaled rows of another run seed are not re-used.
	f = &fakeSession{}
	if _, err := Run(ctx, f, s, sys, RunOptions{Epochs: 2, Seed: 6, Resume: j.Resume()}); err != nil || f.calls != 8 {
		t.Fatalf("other seed: %v, %d calls", err, f.calls)
	}
	if err := j.Remove(); err != nil {
		t.Fatal(err)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Fatalf("left after Remove: %v", es)
	}
}

// TestRunJournalNotRows: lines that are not rows (no item id, or not
// JSON) are not resumed.
func TestRunJournalNotRows(t *testing.T) {
	dir := t.TempDir()
	m := &RunManifest{Suite: digest.FromBytes([]byte("suite")), System: system.System{ID: digest.FromBytes([]byte("sys"))}, RunSeed: 1, Epochs: 1}
	os.WriteFile(JournalPath(dir, m), []byte("{}\ngarbage\n"+`{"item_id":"a"}`+"\n"), 0o644)
	j, err := OpenRunJournal(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if r := j.Resume(); len(r) != 1 || r[0].Item != "a" {
		t.Fatalf("resumed %+v", r)
	}
}

// TestRunJournalExclusive: while one run holds its journal, a second run
// of the same suite, system and seed is refused with an error wrapping
// journal.ErrLocked that names the holder, also when the journal already
// holds rows; the holder's journal is still the file at the path.
func TestRunJournalExclusive(t *testing.T) {
	dir := t.TempDir()
	m := &RunManifest{Suite: digest.FromBytes([]byte("suite")), System: system.System{ID: digest.FromBytes([]byte("sys"))}, RunSeed: 1, Epochs: 1}
	first, err := OpenRunJournal(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Write([]byte(`{"item_id":"a","epoch":0,"seed":1,"score":1}` + "\n")); err != nil {
		t.Fatal(err)
	}
	first.Close()
	// A run that resumes the journal, and another started beside it.
	a, err := OpenRunJournal(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if len(a.Resume()) != 1 {
		t.Fatalf("resumed %d rows, want 1", len(a.Resume()))
	}
	b, err := OpenRunJournal(dir, m)
	if err == nil {
		b.Close()
		t.Fatal("a second run opened the journal another run holds")
	}
	var je *JournalError
	pid := "PID " + strconv.Itoa(os.Getpid())
	if !errors.As(err, &je) || !errors.Is(err, journal.ErrLocked) ||
		!strings.Contains(err.Error(), "another evals run of the same suite, system and seed, "+pid+" (") {
		t.Fatalf("error %v", err)
	}
	if err := a.Append(Row{Item: "b", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(a.Path()); err != nil || !strings.Contains(string(got), `"item_id":"b"`) {
		t.Fatalf("the journal at %s is not the one the run appends to (%v)", a.Path(), err)
	}
}

// TestRunJournalDir: a journal folder that cannot be made is a
// *JournalDirError naming it.
func TestRunJournalDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	_, err := OpenRunJournal(filepath.Join(file, "sub"), &RunManifest{})
	var de *JournalDirError
	if !errors.As(err, &de) || de.Dir != filepath.Join(file, "sub") {
		t.Fatalf("error %v", err)
	}
}
