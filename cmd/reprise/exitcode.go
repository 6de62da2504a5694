package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/reprise-dev/reprise/capture"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/evals"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/journal"
	"github.com/reprise-dev/reprise/launch"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/replay"
	"github.com/reprise-dev/reprise/replay/compare"
	"github.com/reprise-dev/reprise/replay/counterfactual"
	"github.com/reprise-dev/reprise/replay/nightly"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/runners/endpoint"
	"github.com/reprise-dev/reprise/runners/hwclass"
	"github.com/reprise-dev/reprise/runopts"
	"github.com/reprise-dev/reprise/stats"
	"github.com/reprise-dev/reprise/stats/statsfile"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

// Exit codes, as documented in DESIGN.md and the README.
const (
	exitOK           = 0
	exitDiverged     = 1
	exitUsage        = 2
	exitInconclusive = 3
	exitIntegrity    = 4
	exitEnvironment  = 5
	exitInterrupted  = 130
)

// usageError is a bad flag, argument or input file (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, a ...any) error {
	return &usageError{fmt.Errorf(format, a...)}
}

// silentError carries an explicit exit code (e.g. a verdict) for an outcome
// whose details were already printed.
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// exitCode maps an error to the exit code of DESIGN.md. It is the one place
// where errors become codes.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var silent *silentError
	if errors.As(err, &silent) {
		return silent.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	var u *usageError
	switch {
	// Bad input the packages detect in what the user gave (a version map,
	// a log, a filter, a suite folder, a night's options): usage, even
	// when the error also wraps another condition (a corrupt suite read
	// during a replay wraps record.ErrIntegrity too).
	case errors.Is(err, store.ErrPrefix), errors.Is(err, ingest.ErrVersionMap), errors.Is(err, ingest.ErrColumnMap), errors.Is(err, ingest.ErrLog), errors.Is(err, ingest.ErrWhere), errors.Is(err, ingest.ErrSelection), errors.Is(err, ingest.ErrDest),
		errors.Is(err, record.ErrNotLog), errors.Is(err, nightly.ErrOptions), errors.Is(err, nightly.ErrOut),
		errors.Is(err, nightly.ErrLog), errors.Is(err, nightly.ErrOtherNight), errors.Is(err, nightly.ErrConfig),
		errors.Is(err, compare.ErrOptions), errors.Is(err, compare.ErrOut), errors.Is(err, compare.ErrOther),
		errors.Is(err, compare.ErrConfig), errors.Is(err, compare.ErrShards),
		errors.Is(err, nightly.ErrShards), errors.Is(err, nightly.ErrHistory), errors.Is(err, counterfactual.ErrProtocol),
		errors.Is(err, evals.ErrSuite), errors.Is(err, evals.ErrSuiteMismatch), errors.Is(err, evals.ErrResults),
		errors.Is(err, evals.ErrDataset),
		errors.Is(err, record.ErrParquetLimit), errors.Is(err, fsread.ErrNotRegular), errors.Is(err, fsread.ErrTooLarge):
		return exitUsage
	case errors.As(err, &u), errors.Is(err, replay.ErrNoRecord), errors.Is(err, replay.ErrReportsDir), errors.Is(err, replay.ErrLocked),
		errors.Is(err, replay.ErrDuplicateRequest), errors.Is(err, record.ErrMalformed), errors.Is(err, hwclass.ErrClass), errors.Is(err, hwclass.ErrGPUs),
		errors.Is(err, evals.ErrCheckRequired), errors.Is(err, evals.ErrCheckMode),
		errors.Is(err, capture.ErrPart), errors.Is(err, capture.ErrSystemFile), errors.Is(err, output.ErrInvalid), errors.Is(err, verdict.ErrRules),
		errors.Is(err, runners.ErrInvalidSpec), errors.Is(err, runners.ErrRegistryNotAllowed),
		errors.Is(err, endpoint.ErrCredentials), errors.Is(err, journal.ErrLocked), errors.Is(err, runopts.ErrInvalid):
		return exitUsage
	case errors.Is(err, record.ErrIntegrity), errors.Is(err, system.ErrNotPinned), // replay.ErrIntegrity is record.ErrIntegrity
		errors.Is(err, system.ErrIDMismatch), errors.Is(err, launch.ErrArtifact),
		errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCorrupt):
		return exitIntegrity
	case errors.Is(err, store.ErrNotStore), errors.Is(err, store.ErrNoStore), errors.Is(err, store.ErrTooLarge):
		return exitUsage
	case errors.Is(err, runners.ErrImageMismatch):
		return exitIntegrity
	case errors.Is(err, runners.ErrImageUnavailable), errors.Is(err, runners.ErrEngine),
		errors.Is(err, runners.ErrCrashed), errors.Is(err, runners.ErrTimeout),
		errors.Is(err, runners.ErrProtocol), errors.Is(err, runners.ErrUnsupported):
		return exitEnvironment
	case errors.Is(err, stats.ErrSampleSize), errors.Is(err, stats.ErrNaN),
		errors.Is(err, stats.ErrEmptyGroup), errors.Is(err, stats.ErrDomain),
		errors.Is(err, stats.ErrMethod), errors.Is(err, statsfile.ErrInput), errors.Is(err, digest.ErrInvalid):
		return exitUsage
	}
	return exitEnvironment
}

// codeOf is codes[k], or def when k has none.
func codeOf[K comparable](codes map[K]int, k K, def int) int {
	if code, ok := codes[k]; ok {
		return code
	}
	return def
}

// verdictCode is the exit code of a verdict (exitEnvironment for none).
func verdictCode(v verdict.Verdict) int {
	return codeOf(map[verdict.Verdict]int{verdict.Reproduced: exitOK, verdict.Diverged: exitDiverged, verdict.Inconclusive: exitInconclusive}, v, exitEnvironment)
}

// sameCode is the exit code of a two-system verdict: SAME 0, DIFFERENT 1,
// else 3.
func sameCode(v verdict.Sameness) int {
	return codeOf(map[verdict.Sameness]int{verdict.Same: exitOK, verdict.Different: exitDiverged}, v, exitInconclusive)
}

// classCode is the exit code of the error class of a night or a
// comparison: integrity 4, usage 2, else 5.
func classCode(class string) int {
	return codeOf(map[string]int{"integrity": exitIntegrity, "usage": exitUsage}, class, exitEnvironment)
}

// nightCode is the exit code of a night's outcome (its first error's class
// for OutcomeError). A night that replayed no record is
// OutcomeInconclusive (3): it is no evidence.
func nightCode(n *nightly.Night) int {
	if n.Outcome == nightly.OutcomeError {
		return classCode(n.ErrorClass)
	}
	return codeOf(map[string]int{nightly.OutcomeDiverged: exitDiverged, nightly.OutcomeSubstitution: exitDiverged, nightly.OutcomeRate: exitDiverged,
		nightly.OutcomeInconclusive: exitInconclusive}, n.Outcome, exitOK)
}

// compareCode is the exit code of a comparison: 1 DIFFERENT, the error's
// class when a record could not be run, 3 INCONCLUSIVE, 0 SAME.
func compareCode(c *compare.Comparison) int {
	if c.Outcome == compare.OutcomeError {
		return classCode(c.ErrorClass)
	}
	return codeOf(map[string]int{compare.OutcomeDifferent: exitDiverged, compare.OutcomeInconclusive: exitInconclusive}, c.Outcome, exitOK)
}
