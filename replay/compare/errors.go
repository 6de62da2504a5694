package compare

import (
	"fmt"

	"github.com/reprise-dev/reprise/journal"
)

// Conditions of a comparison's input, each a thing the caller can fix;
// errors.Is tells them apart. Each prints as "compare: invalid input".
var (
	// ErrOptions: Options out of range (N, Alpha, Margin, FDR, Conf) or a
	// system missing.
	ErrOptions error = &inputError{"options"}
	// ErrOut: the output folder cannot be created or locked.
	ErrOut error = &inputError{"output folder"}
	// ErrOther: the output folder holds another comparison (another
	// compare.json, or a log that no longer gives its sample).
	ErrOther error = &inputError{"another comparison"}
	// ErrConfig: a compare.json that cannot be parsed or has another schema.
	ErrConfig error = &inputError{"compare.json"}
	// ErrShards: folders that do not merge into one comparison (none, a
	// shard twice or missing, another comparison's, unfinished).
	ErrShards error = &inputError{"shards"}
)

// ErrLocked: another comparison is writing into the output folder. It
// wraps journal.ErrLocked.
var ErrLocked = fmt.Errorf("compare: output folder %w", journal.ErrLocked)

type inputError struct{ what string }

func (e *inputError) Error() string { return "compare: invalid input" }
