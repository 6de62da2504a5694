package evals

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

// DescribeDatasetFiles checks the files of a dataset and describes each
// (without its digest): its base name, size and format, which is format
// when given, else from the extension (.jsonl and .ndjson FormatJSONL,
// .parquet FormatParquet, any other FormatText), and for a Parquet file
// its text columns (ParquetTextColumnsLimit: columns, else every
// BYTE_ARRAY column). An unknown format, a file that is not a regular
// file, or columns for a file that is not Parquet match ErrDataset, and
// their message names the flag (--format, --column).
func DescribeDatasetFiles(ctx context.Context, files []string, format string, columns []string, lim record.ParquetLimits) ([]DatasetFile, error) {
	var df []DatasetFile
	for _, f := range files {
		file := DatasetFile{Name: filepath.Base(f), Format: format}
		switch ext := strings.ToLower(filepath.Ext(f)); {
		case format != "":
		case ext == ".jsonl" || ext == ".ndjson":
			file.Format = FormatJSONL
		case ext == ".parquet":
			file.Format = FormatParquet
		default:
			file.Format = FormatText
		}
		if file.Format != FormatJSONL && file.Format != FormatText && file.Format != FormatParquet {
			return nil, datasetErrorf("--format %q: want jsonl, text or parquet", file.Format)
		}
		fh, size, err := fsread.Open(f)
		if err != nil {
			return nil, datasetErrorf("%v", err)
		}
		fh.Close()
		file.Size = size
		switch {
		case file.Format == FormatParquet:
			if file.Columns, err = ParquetTextColumnsLimit(ctx, f, columns, lim); err != nil {
				return nil, err
			}
		case len(columns) > 0:
			return nil, datasetErrorf("--column is only for Parquet files; %s is %s", f, file.Format)
		}
		df = append(df, file)
	}
	return df, nil
}

// PackDatasetFiles stores the files of df with put, which stores file i
// and returns its digest, then their manifest (PackDataset), whose digest
// it returns.
func PackDatasetFiles(ctx context.Context, w store.Writer, df []DatasetFile, put func(i int) (digest.Digest, error)) (digest.Digest, error) {
	for i := range df {
		d, err := put(i)
		if err != nil {
			return digest.Digest{}, err
		}
		df[i].Digest = d
	}
	return PackDataset(ctx, w, df)
}

// datasetError is an ErrDataset whose message is the caller's alone.
type datasetError struct{ msg string }

func (e *datasetError) Error() string        { return e.msg }
func (e *datasetError) Is(target error) bool { return target == ErrDataset }

func datasetErrorf(format string, a ...any) error { return &datasetError{fmt.Sprintf(format, a...)} }
