package main

import (
	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/system"
)

// byteSize is a flag value in bytes, written as system.ParseBytes reads
// it (64m, 64MiB, 64MB) and shown as system.FormatBytes writes it.
type byteSize int64

func (b *byteSize) String() string { return system.FormatBytes(int64(*b)) }
func (b *byteSize) Type() string   { return "size" }

func (b *byteSize) Set(s string) error {
	n, err := system.ParseBytes(s)
	if err != nil {
		return err
	}
	*b = byteSize(n)
	return nil
}

// addMaxPageSizeFlag adds --max-page-size, the largest uncompressed
// Parquet page a reader accepts (record.ParquetLimits).
func addMaxPageSizeFlag(cmd *cobra.Command, v *byteSize) {
	*v = record.DefaultMaxPageSize
	cmd.Flags().Var(v, "max-page-size", "largest uncompressed Parquet page to read, e.g. 256m; a page over it, or over its column chunk's size, is refused")
}

func (b byteSize) parquetLimits() record.ParquetLimits {
	return record.ParquetLimits{MaxPageSize: int64(b)}
}
