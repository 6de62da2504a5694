package capture

import (
	"context"
	"fmt"

	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/record"
)

// LoadRecord reads and parses the decision record at path (a regular file
// of at most MaxSystemFileSize bytes). A file that cannot be read wraps
// ErrSystemFile; a malformed record is record.Parse's error. Both name
// the path.
func LoadRecord(ctx context.Context, path string) (*record.Record, error) {
	b, err := fsread.ReadFile(ctx, path, MaxSystemFileSize, "")
	if err != nil {
		return nil, &systemFileError{fmt.Sprintf("record %s: %v", path, err)}
	}
	rec, err := record.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	return rec, nil
}
