package main

import (
	"os"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/system"
)

// TestEvalJournalExclusive: while one evals run holds its journal, a second
// run of the same suite, system and seed is refused, also when the journal
// already holds rows (rewriting it replaces its inode, and the lock used to
// be taken on the new one, so both runs went on).
func TestEvalJournalExclusive(t *testing.T) {
	dir := t.TempDir()
	m := &evals.RunManifest{Suite: digest.FromBytes([]byte("suite")), System: system.System{ID: digest.FromBytes([]byte("sys"))}, RunSeed: 1, Epochs: 1}
	first, err := openEvalJournal(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.f.Write([]byte(`{"item_id":"a","epoch":0,"seed":1,"score":1}` + "\n")); err != nil {
		t.Fatal(err)
	}
	first.close()
	// A run that resumes the journal, and another started beside it.
	a, err := openEvalJournal(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	if len(a.resume) != 1 {
		t.Fatalf("resumed %d rows, want 1", len(a.resume))
	}
	if b, err := openEvalJournal(dir, m); err == nil {
		b.close()
		t.Fatal("a second run opened the journal another run holds")
	} else if !strings.Contains(err.Error(), "another evals run") {
		t.Fatalf("error %v", err)
	}
	// The holder's journal is still the file at the path.
	if err := a.f.Append(evals.Row{Item: "b", Seed: 1}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(a.path)
	if err != nil || !strings.Contains(string(b), `"item_id":"b"`) {
		t.Fatalf("the journal at %s is not the one the run appends to (%v)", a.path, err)
	}
}
