package record

import (
	"bytes"

	"github.com/parquet-go/parquet-go"
)

// EncodeParquet is rows as one zstd-compressed Parquet file with T's
// columns (its parquet tags), written with opts after the compression (key
// value metadata, say). It is the one writer of the module's report rows:
// replay's runs.parquet, replay/nightly's and replay/compare's
// results.parquet, and evals' results.
func EncodeParquet[T any](rows []T, opts ...parquet.WriterOption) ([]byte, error) {
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, append([]parquet.WriterOption{parquet.Compression(&parquet.Zstd)}, opts...)...)
	if len(rows) > 0 {
		if _, err := w.Write(rows); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NullIfEmpty is s as an optional column's value: nil (NULL) when s is
// empty.
func NullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
