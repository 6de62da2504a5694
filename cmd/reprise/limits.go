package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reprise-dev/reprise/record"
)

// byteSize is a flag value in bytes, written as a number with an optional
// unit (KiB, MiB, GiB; KB, MB, GB are the same powers of 1024).
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }
func (b *byteSize) Type() string   { return "bytes" }

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("want a positive size in bytes (e.g. 128MiB), not %q", s)
	}
	*b = byteSize(n * mult)
	return nil
}

// addMaxPageSizeFlag adds --max-page-size, the largest uncompressed
// Parquet page a reader accepts (record.ParquetLimits).
func addMaxPageSizeFlag(cmd *cobra.Command, v *byteSize) {
	*v = record.DefaultMaxPageSize
	cmd.Flags().Var(v, "max-page-size", "largest uncompressed Parquet page to read, in bytes (e.g. 256MiB); a page over it, or over its column chunk's size, is refused")
}

func (b byteSize) parquetLimits() record.ParquetLimits {
	return record.ParquetLimits{MaxPageSize: int64(b)}
}
