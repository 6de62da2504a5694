package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
)

// TestEvalsRunJournalRefused: evals run refuses, with exit 2 and before
// starting anything, a journal another run holds (naming its PID) and a
// --journal-dir that cannot be made.
func TestEvalsRunJournalRefused(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	sysFile := filepath.Join(dir, "sys.json")
	if r := cli(t, "", "--store", st, "system", "create", "--image", "sha256:"+strings.Repeat("0", 64), "--model", fx("models", "loan-approver-2.4.1.safetensors"),
		"--config", fx("configs", "loan-params-3.json"), "-o", sysFile); r.code != 0 {
		t.Fatalf("system create: %d %s", r.code, r.err)
	}
	target, err := capture.LoadTarget(sysFile)
	if err != nil {
		t.Fatal(err)
	}
	su, err := evals.ResolveSuite(t.Context(), store.NewMem(), fx("suites", "loan-v1"))
	if err != nil {
		t.Fatal(err)
	}
	jdir := filepath.Join(dir, "journals")
	held, err := evals.OpenRunJournal(jdir, evals.NewRun(su, target, system.Params{}, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	// The entrypoint is an executable (the flags are valid) that is never
	// started: the journal is refused first.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	run := func(jdir string) cliResult {
		return cli(t, "", "--store", st, "evals", "run", "--suite", fx("suites", "loan-v1"), "--system", sysFile,
			"--journal-dir", jdir, "--runner", "process", "--entrypoint", exe)
	}
	if r := run(jdir); r.code != 2 || !strings.Contains(r.err, "another evals run of the same suite, system and seed, PID ") {
		t.Fatalf("held journal: %d %s", r.code, r.err)
	}
	if r := run(filepath.Join(sysFile, "sub")); r.code != 2 || !strings.Contains(r.err, "--journal-dir "+filepath.Join(sysFile, "sub")+": ") {
		t.Fatalf("bad --journal-dir: %d %s", r.code, r.err)
	}
}
