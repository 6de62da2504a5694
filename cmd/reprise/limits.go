package main

import (
	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/system"
)

// byteSize is a flag value in bytes (system.Size).
type byteSize = system.Size

// addMaxPageSizeFlag adds --max-page-size, the largest uncompressed
// Parquet page a reader accepts, to lim.
func addMaxPageSizeFlag(cmd *cobra.Command, lim *record.ParquetLimits) {
	lim.MaxPageSize = record.DefaultMaxPageSize
	cmd.Flags().Var((*byteSize)(&lim.MaxPageSize), "max-page-size", "largest uncompressed Parquet page to read, e.g. 256m; a page over it, or over its column chunk's size, is refused")
}
