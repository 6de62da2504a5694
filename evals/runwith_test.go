package evals

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

// TestRunJournaled: a run that fails keeps its journal; run again, it is
// stored and the journal is removed.
func TestRunJournaled(t *testing.T) {
	ctx := context.Background()
	s, _ := LoadDir(writeSuite(t, labelSpec, labelItems))
	sys := digest.FromBytes([]byte("sys"))
	st := store.NewMem()
	dir, now := t.TempDir(), time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	m := &RunManifest{Suite: s.Digest, SuiteName: "loan", SuiteVersion: "1", RunSeed: 5, Epochs: 1}
	m.System.ID = sys
	m.System.Image, _ = system.ParseImageRef(digest.FromBytes([]byte("img")).String())
	m.System.Model.Digest, m.System.Config.Digest = digest.FromBytes([]byte("m")), digest.FromBytes([]byte("c"))
	m.System.Seal()
	sys = m.System.ID
	target := launch.Target{System: m.System}
	run := func(session *fakeSession) RunItems {
		return func(tg launch.Target, ro RunOptions) ([]Row, error) { return Run(ctx, session, s, tg.System.ID, ro) }
	}
	j, err := OpenRunJournal(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := m.RunJournaled(ctx, st, s, target, j, 0.95, now, func(launch.Target, RunOptions) ([]Row, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("failing run: %v", err)
	}
	j.Close()
	if j, err = OpenRunJournal(dir, m); err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	res, err := m.RunJournaled(ctx, st, s, target, j, 0.95, now, run(&fakeSession{}))
	if err != nil || res.Run.IsZero() || res.ItemsRun != len(s.Items) {
		t.Fatalf("RunJournaled = %+v, %v", res, err)
	}
	if _, err := os.Stat(j.Path()); !os.IsNotExist(err) {
		t.Errorf("journal %s kept after the run was stored: %v", j.Path(), err)
	}
	old, err := ResolveRun(ctx, st, res.Run.String())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := RebaseRun(s, old).Run(ctx, st, 0.95, now, func(launch.Target, RunOptions) ([]Row, error) {
		t.Error("nothing is missing: nothing should run")
		return nil, nil
	})
	if err != nil || rb.Run.IsZero() {
		t.Errorf("Rebase.Run = %+v, %v", rb, err)
	}
	if all, err := RescoreAll(ctx, st, s, []string{res.Run.String(), res.Run.String()}, 0.95, now, nil); err != nil || len(all) != 2 {
		t.Errorf("RescoreAll = %+v, %v", all, err)
	}
	if _, err := RescoreAll(ctx, st, s, []string{"sha256:nope"}, 0.95, now, nil); err == nil {
		t.Error("RescoreAll(an unknown run) succeeded")
	}
	if got, found, err := SystemByID(ctx, st, sys); err != nil || !found || got.ID != sys {
		t.Errorf("SystemByID(run's system) = %v, %v, %v", got.ID, found, err)
	}
	if _, found, err := SystemByID(ctx, st, digest.FromBytes([]byte("other"))); err != nil || found {
		t.Errorf("SystemByID(unknown) = %v, %v; want not found", found, err)
	}
}
