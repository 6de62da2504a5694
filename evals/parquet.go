package evals

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

// FormatParquet is a Parquet dataset file: one document per row, the
// values of its text columns.
const FormatParquet = "parquet"

// parquetValues is how many values a column cursor reads at a time.
const parquetValues = 1024

// ParquetTextColumns is ParquetTextColumnsLimit with no context and the
// default record.ParquetLimits.
func ParquetTextColumns(path string, names []string) ([]string, error) {
	return ParquetTextColumnsLimit(context.Background(), path, names, record.ParquetLimits{})
}

// ParquetTextColumnsLimit opens the Parquet file at path (a regular file),
// checks its pages against lim (record.CheckParquet: a decompression bomb
// is refused when packed, not when read) and returns the dotted paths of
// its text columns: the columns named in names (each must exist and be
// BYTE_ARRAY), or, with names empty, every BYTE_ARRAY column (STRING,
// JSON, ENUM, plain bytes). A file that is not Parquet or is refused, a
// missing or non-text column, or a file without text columns is an error
// wrapping ErrDataset.
func ParquetTextColumnsLimit(ctx context.Context, path string, names []string, lim record.ParquetLimits) ([]string, error) {
	f, size, err := fsread.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDataset, err)
	}
	defer f.Close()
	pf, err := openParquet(ctx, f, size, lim)
	if err != nil {
		return nil, datasetErr(filepath.Base(path), err)
	}
	_, cols, err := textColumns(pf.Schema(), names)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrDataset, filepath.Base(path), err)
	}
	return cols, nil
}

func datasetErr(name string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %s: %w", ErrDataset, name, err)
}

func openParquet(ctx context.Context, f *os.File, size int64, lim record.ParquetLimits) (*parquet.File, error) {
	return record.OpenParquet(ctx, fsread.ReaderAt(ctx, f), size, lim)
}

// textColumns picks the leaf columns (indices and dotted paths) as
// ParquetTextColumns describes.
func textColumns(s *parquet.Schema, names []string) ([]int, []string, error) {
	byName := map[string]int{}
	nameOf := map[int]string{}
	var all []string
	var idx []int
	for _, path := range s.Columns() {
		leaf, ok := s.Lookup(path...)
		if !ok {
			continue
		}
		name := strings.Join(path, ".")
		byName[name], nameOf[leaf.ColumnIndex] = leaf.ColumnIndex, name
		all = append(all, name)
		if len(names) == 0 && leaf.Node.Type().Kind() == parquet.ByteArray {
			idx = append(idx, leaf.ColumnIndex)
		}
	}
	if len(names) == 0 {
		if len(idx) == 0 {
			return nil, nil, fmt.Errorf("no text (BYTE_ARRAY) column among %s", strings.Join(all, ", "))
		}
		var cols []string
		for _, i := range idx {
			cols = append(cols, nameOf[i])
		}
		return idx, cols, nil
	}
	for _, n := range names {
		i, ok := byName[n]
		if !ok {
			return nil, nil, fmt.Errorf("no column %q (columns: %s)", n, strings.Join(all, ", "))
		}
		leaf, _ := s.Lookup(strings.Split(n, ".")...)
		if k := leaf.Node.Type().Kind(); k != parquet.ByteArray {
			return nil, nil, fmt.Errorf("column %q is %s, not a text (BYTE_ARRAY) column", n, k)
		}
		idx = append(idx, i)
	}
	return idx, names, nil
}

// scanParquet streams the rows of the Parquet file f: each row's document
// is the non-null values of its text columns (f.Columns, else every
// BYTE_ARRAY column) in column order, each followed by a space. The blob is
// copied (verified) to a temporary file, since Parquet is read from its
// footer; the rows are then read row group by row group, each text column
// through a cursor of at most parquetValues values over its current page,
// so memory holds one page per text column and the current row, whatever
// the file's size.
func scanParquet(ctx context.Context, r store.Reader, f DatasetFile, fn func([]byte) error) error {
	dir, err := os.MkdirTemp("", "reprise-parquet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "data.parquet")
	if err := r.CopyTo(ctx, f.Digest, path); err != nil {
		return fmt.Errorf("dataset file %s: %w", f.Name, err)
	}
	fh, size, err := fsread.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	pf, err := openParquet(ctx, fh, size, record.ParquetLimits{})
	if err != nil {
		return datasetErr(f.Name, err)
	}
	idx, _, err := textColumns(pf.Schema(), f.Columns)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrDataset, f.Name, err)
	}
	row := int64(0)
	var doc []byte
	for _, rg := range pf.RowGroups() {
		ccs := rg.ColumnChunks()
		curs := make([]*columnCursor, len(idx))
		for i, c := range idx {
			curs[i] = &columnCursor{pages: ccs[c].Pages(), buf: make([]parquet.Value, parquetValues)}
		}
		err := func() error {
			defer func() {
				for _, c := range curs {
					c.pages.Close()
				}
			}()
			for range rg.NumRows() {
				if err := ctx.Err(); err != nil {
					return err
				}
				row++
				doc = doc[:0]
				for _, c := range curs {
					if doc, err = c.appendRow(doc); err != nil {
						return fmt.Errorf("%w: %s: row %d: %v", ErrDataset, f.Name, row, err)
					}
				}
				if err := fn(doc); err != nil {
					return err
				}
			}
			return nil
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// columnCursor reads one column chunk value by value, page by page.
type columnCursor struct {
	pages parquet.Pages
	vr    parquet.ValueReader
	buf   []parquet.Value
	i, n  int
}

// peek returns the next value without consuming it (nil at the chunk's end).
func (c *columnCursor) peek() (*parquet.Value, error) {
	for c.i >= c.n {
		if c.vr == nil {
			p, err := c.pages.ReadPage()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			c.vr = p.Values()
		}
		n, err := c.vr.ReadValues(c.buf)
		c.i, c.n = 0, n
		if errors.Is(err, io.EOF) {
			c.vr = nil
		} else if err != nil {
			return nil, err
		}
	}
	return &c.buf[c.i], nil
}

// appendRow appends the values of the column's next row (one, or several
// for a repeated column: up to the next value that starts a row) to doc.
func (c *columnCursor) appendRow(doc []byte) ([]byte, error) {
	for first := true; ; first = false {
		v, err := c.peek()
		if err != nil {
			return doc, err
		}
		if v == nil {
			if first {
				return doc, errors.New("a column ends before its row group")
			}
			return doc, nil
		}
		if !first && v.RepetitionLevel() == 0 {
			return doc, nil
		}
		c.i++
		if !v.IsNull() {
			doc = append(append(doc, v.ByteArray()...), ' ')
		}
	}
}

// EncodeRows writes rows as zstd Parquet.
func EncodeRows(rows []Row) ([]byte, error) { return record.EncodeParquet(rows) }
