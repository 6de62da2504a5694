package nightly

import (
	"fmt"

	"github.com/reprise-dev/reprise/journal"
)

// Conditions of a night's input, each a thing the caller can fix; errors.Is
// tells them apart. Every one prints as "nightly: invalid input", the
// words nights have always printed before the details.
var (
	// ErrOptions: Options out of range (FDR, MinRate, ConfirmN).
	ErrOptions error = &inputError{"options"}
	// ErrOut: the output folder cannot be created or locked.
	ErrOut error = &inputError{"output folder"}
	// ErrLog: the log cannot be read or is not a decision log (it wraps
	// the reader's error, e.g. record.ErrNotLog or ingest.ErrWhere).
	ErrLog error = &inputError{"log"}
	// ErrOtherNight: the output folder holds another night (another
	// night.json, or a log that no longer gives the night's sample).
	ErrOtherNight error = &inputError{"another night"}
	// ErrConfig: a night.json that cannot be parsed or has another schema.
	ErrConfig error = &inputError{"night.json"}
	// ErrShards: shard folders that do not merge into one night (none, a
	// shard twice or missing, a shard of another night or unfinished).
	ErrShards error = &inputError{"shards"}
)

// ErrLocked: another night is writing into the output folder. It wraps
// journal.ErrLocked.
var ErrLocked = fmt.Errorf("nightly: output folder %w", journal.ErrLocked)

// inputError is a condition of a night's input; what names it (the
// message is the same for all, see ErrOptions).
type inputError struct{ what string }

func (e *inputError) Error() string { return "nightly: invalid input" }
