package evals

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/runners"
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
	var journal bytes.Buffer
	_, err = Run(ctx, &crashingSession{failAt: 5}, s, sys, RunOptions{Epochs: 2, Seed: 5, Journal: &journal})
	if !errors.Is(err, runners.ErrCrashed) || strings.Count(journal.String(), "\n") != 5 {
		t.Fatalf("crash: %v, journal:\n%s", err, journal.String())
	}
	journal.WriteString(`{"suite_digest":"sha256:`) // a line cut short by a kill
	resume, err := ReadJournal(&journal)
	if err != nil || len(resume) != 5 {
		t.Fatalf("journal: %d rows, %v", len(resume), err)
	}
	f := &fakeSession{}
	got, err := Run(ctx, f, s, sys, RunOptions{Epochs: 2, Seed: 5, Resume: resume})
	if err != nil || f.calls != 3 || len(got) != len(want) {
		t.Fatalf("resumed: %v, %d calls, %d rows", err, f.calls, len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	// Journaled rows of another run seed are not re-used.
	f = &fakeSession{}
	if _, err := Run(ctx, f, s, sys, RunOptions{Epochs: 2, Seed: 6, Resume: resume}); err != nil || f.calls != 8 {
		t.Fatalf("other seed: %v, %d calls", err, f.calls)
	}
	// A malformed line that is not the last is an error naming it.
	if _, err := ReadJournal(strings.NewReader("{}\n" + `{"item_id":"a"}` + "\n")); !errors.Is(err, ErrResults) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("malformed: %v", err)
	}
}
