package main

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runopts"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// TestExitCodeTable: each condition the packages return maps to the exit
// code of DESIGN.md through the one table (exitCode), also when wrapped.
func TestExitCodeTable(t *testing.T) {
	for _, c := range []struct {
		err  error
		code int
	}{
		{nil, exitOK},
		{&silentError{code: exitDiverged}, exitDiverged},
		{context.Canceled, exitInterrupted},
		{usageErrorf("bad flag"), exitUsage},
		{replay.ErrNoRecord, exitUsage},
		{replay.ErrReportsDir, exitUsage},
		{replay.ErrLocked, exitUsage},
		{capture.ErrPart, exitUsage},
		{capture.ErrSystemFile, exitUsage},
		{replay.ErrDuplicateRequest, exitUsage},
		{evals.ErrCheckRequired, exitUsage},
		{evals.ErrCheckMode, exitUsage},
		{record.ErrMalformed, exitUsage},
		{verdict.ErrRules, exitUsage},
		{runopts.ErrInvalid, exitUsage},
		{ingest.ErrVersionMap, exitUsage},
		{ingest.ErrLog, exitUsage},
		{ingest.ErrWhere, exitUsage},
		{ingest.ErrSelection, exitUsage},
		{ingest.ErrDest, exitUsage},
		{record.ErrNotLog, exitUsage},
		{nightly.ErrOptions, exitUsage},
		{nightly.ErrOut, exitUsage},
		{nightly.ErrLog, exitUsage},
		{nightly.ErrOtherNight, exitUsage},
		{nightly.ErrConfig, exitUsage},
		{nightly.ErrShards, exitUsage},
		{nightly.ErrLocked, exitUsage},
		{fmt.Errorf("%w: %w", nightly.ErrLog, record.ErrIntegrity), exitUsage},
		{evals.ErrSuite, exitUsage},
		{evals.ErrResults, exitUsage},
		{fmt.Errorf("%w: eval suite: %w", record.ErrIntegrity, evals.ErrSuite), exitUsage},
		{replay.ErrIntegrity, exitIntegrity},
		{record.ErrIntegrity, exitIntegrity},
		{system.ErrNotPinned, exitIntegrity},
		{system.ErrIDMismatch, exitIntegrity},
		{launch.ErrArtifact, exitIntegrity},
		{store.ErrCorrupt, exitIntegrity},
		{runners.ErrImageMismatch, exitIntegrity},
		{launch.ErrHardwareMismatch, exitEnvironment},
		{runners.ErrCrashed, exitEnvironment},
		{runners.ErrTimeout, exitEnvironment},
		{runners.ErrEngine, exitEnvironment},
	} {
		err := c.err
		if err != nil {
			err = fmt.Errorf("context: %w", err)
		}
		if got := exitCode(err); got != c.code {
			t.Errorf("exitCode(%v) = %d, want %d", err, got, c.code)
		}
	}
	if got := exitCode(errors.New("anything else")); got != exitEnvironment {
		t.Errorf("an unknown error: %d, want %d", got, exitEnvironment)
	}
}

// TestNoInit: no file of the CLI registers anything in an init function;
// errors become codes in one table.
func TestNoInit(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		n++
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == "init" {
				t.Errorf("%s has a func init()", f)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d files read", n)
	}
}

// TestUnknownVerb: a word after a noun that is none of its verbs is a usage
// error (exit 2) with cobra's suggestion, not the noun's help and exit 0, so
// a typo in a CI step fails; the noun alone still prints its help.
func TestUnknownVerb(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"store", "verfy"}, "reprise: unknown command \"verfy\" for \"reprise store\"\n\nDid you mean this?\n\tverify\n\nRun 'reprise store --help' for usage.\n"},
		{[]string{"stats", "binm"}, "unknown command \"binm\" for \"reprise stats\"\n\nDid you mean this?\n\tbinom\n"},
		{[]string{"evals", "compar", "A", "B"}, "unknown command \"compar\" for \"reprise evals\"\n\nDid you mean this?\n\tcompare\n"},
		{[]string{"--store", "x", "record", "creat"}, "unknown command \"creat\" for \"reprise record\"\n\nDid you mean this?\n\tcreate\n"},
		{[]string{"system", "zzz"}, "reprise: unknown command \"zzz\" for \"reprise system\"\n\nRun 'reprise system --help' for usage.\n"},
		{[]string{"replya", "x.json"}, "reprise: unknown command \"replya\" for \"reprise\"\n\nDid you mean this?\n\treplay\n\nRun 'reprise --help' for usage.\n"},
	} {
		if r := cli(t, "", c.args...); r.code != 2 || !strings.Contains(r.err, c.msg) || r.out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, r.code, r.out, r.err, c.msg)
		}
	}
	if r := cli(t, "", "store"); r.code != 0 || !strings.Contains(r.out, "Available Commands:") {
		t.Errorf("store alone: exit %d, stdout %q", r.code, r.out)
	}
}
