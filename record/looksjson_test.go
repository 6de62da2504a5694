package record

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestJSONLinesGivenAsParquet: a JSON Lines log where a Parquet log
// belongs is refused with what to do (import it first), not Parquet's
// "invalid magic header".
func TestJSONLinesGivenAsParquet(t *testing.T) {
	for _, body := range []string{`{"request_id":"r1"}` + "\n", "\n  [1,2]"} {
		_, err := OpenParquetLog(bytes.NewReader([]byte(body)), int64(len(body)))
		if !errors.Is(err, ErrNotLog) || !strings.Contains(err.Error(), "reprise record import") {
			t.Errorf("%q: %v", body, err)
		}
	}
	_, err := OpenParquetLog(bytes.NewReader([]byte("not parquet")), 11)
	if !errors.Is(err, ErrNotLog) || strings.Contains(err.Error(), "record import") {
		t.Errorf("not JSON, not Parquet: %v", err)
	}
}
