package evals

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

func TestDescribeDatasetFiles(t *testing.T) {
	dir := t.TempDir()
	jl, txt := filepath.Join(dir, "a.ndjson"), filepath.Join(dir, "b.md")
	for _, p := range []string{jl, txt} {
		if err := os.WriteFile(p, []byte("one\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, lim := t.Context(), record.ParquetLimits{}
	df, err := DescribeDatasetFiles(ctx, []string{jl, txt}, "", nil, lim)
	if err != nil || len(df) != 2 || df[0].Format != FormatJSONL || df[1].Format != FormatText || df[0].Size != 4 || df[1].Name != "b.md" {
		t.Fatalf("DescribeDatasetFiles = %+v, %v", df, err)
	}
	for name, c := range map[string]struct {
		files   []string
		format  string
		columns []string
		msg     string
	}{
		"format":  {[]string{jl}, "csv", nil, `--format "csv": want jsonl, text or parquet`},
		"missing": {[]string{filepath.Join(dir, "none")}, "", nil, "none"},
		"columns": {[]string{txt}, "", []string{"text"}, "--column is only for Parquet files"},
	} {
		if _, err := DescribeDatasetFiles(ctx, c.files, c.format, c.columns, lim); !errors.Is(err, ErrDataset) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want ErrDataset saying %q", name, err, c.msg)
		}
	}
	st := store.NewMem()
	d, err := PackDatasetFiles(ctx, st, df, func(i int) (digest.Digest, error) { return digest.FromBytes([]byte{byte(i)}), nil })
	if err != nil || d.IsZero() || df[1].Digest != digest.FromBytes([]byte{1}) {
		t.Errorf("PackDatasetFiles = %v, %v; files %+v", d, err, df)
	}
}
