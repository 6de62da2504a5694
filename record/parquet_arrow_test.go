package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/parquet-go/parquet-go/format"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/system"
)

// arrowLog writes n rows of a decision log with Apache Arrow's Go Parquet
// writer, the way pyarrow writes a table: every column nullable (OPTIONAL),
// the timestamp in microseconds without a time zone (not adjusted to UTC),
// strings dictionary-encoded, data page v1, here in row groups of 300 rows
// and 1 KiB pages, with or without a page index. Row i has a NULL
// model_digest when i%11 == 5, a NULL timestamp when i%13 == 7 and no
// score when i%2 == 1. It returns the file and the record of each row.
func arrowLog(t *testing.T, n int, pageIndex bool) ([]byte, []*Record) {
	t.Helper()
	base := validRecord(t)
	str := func(name string) arrow.Field {
		return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	fields := []arrow.Field{
		str("request_id"),
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		str("input_digest"), str("input_media_type"),
		{Name: "params_seed", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		str("system_id"), str("system_image"), str("model_name"), str("model_version"), str("model_digest"),
		str("config_name"), str("config_version"), str("config_digest"), str("components"),
		str("protocol"), str("hardware_class"), str("output_label"),
		{Name: "output_score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		str("output_digest"),
	}
	schema := arrow.NewSchema(fields, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	s := func(i int, v string) { b.Field(i).(*array.StringBuilder).Append(v) }
	comps, _ := json.Marshal(base.System.Components)
	var recs []*Record
	for i := range n {
		r := *base
		r.RequestID = fmt.Sprintf("req_%05d", i)
		r.Timestamp = base.Timestamp.Add(time.Duration(i) * time.Millisecond)
		seed := int64(i)
		// Only the columns written: no temperature, top_p, max_tokens, env
		// or eval suite.
		r.Params = system.Params{Seed: &seed}
		r.Runtime.Env, r.Runtime.EnvVars, r.Runtime.Limits, r.EvalSuite = nil, nil, nil, digest.Digest{}
		r.Output.Score = nil
		if i%2 == 0 {
			sc := float64(i) / float64(n)
			r.Output.Score = &sc
		}
		s(0, r.RequestID)
		if i%13 == 7 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(r.Timestamp.UnixMicro()))
		}
		s(2, r.Input.Digest.String())
		s(3, r.Input.MediaType)
		b.Field(4).(*array.Int64Builder).Append(seed)
		s(5, r.System.ID.String())
		s(6, r.System.Image.String())
		s(7, r.System.Model.Name)
		s(8, r.System.Model.Version)
		if i%11 == 5 {
			b.Field(9).AppendNull()
		} else {
			s(9, r.System.Model.Digest.String())
		}
		s(10, r.System.Config.Name)
		s(11, r.System.Config.Version)
		s(12, r.System.Config.Digest.String())
		s(13, string(comps))
		s(14, r.Runtime.Protocol)
		s(15, r.Runtime.HardwareClass)
		s(16, *r.Output.Label)
		if r.Output.Score == nil {
			b.Field(17).AppendNull()
		} else {
			b.Field(17).(*array.Float64Builder).Append(*r.Output.Score)
		}
		s(18, r.Output.Digest.String())
		recs = append(recs, &r)
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	props := pq.NewWriterProperties(pq.WithMaxRowGroupLength(300), pq.WithDataPageSize(1<<10),
		pq.WithCompression(compress.Codecs.Zstd), pq.WithDataPageVersion(pq.DataPageV1), pq.WithPageIndexEnabled(pageIndex))
	fw, err := pqarrow.NewFileWriter(schema, &buf, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), recs
}

// TestParquetArrowLog reads logs written by Arrow's Parquet writer (as
// pyarrow writes them): valid rows decode to the records written, NULLs in
// required columns are listed row errors naming the column, and the column
// scan and DecodeRows agree with the full scan, with and without a page
// index.
func TestParquetArrowLog(t *testing.T) {
	const n = 1000
	for _, pageIndex := range []bool{false, true} {
		data, recs := arrowLog(t, n, pageIndex)
		l, err := OpenParquetLog(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if l.cols["timestamp"].unit != 1e3 || l.NumRowGroups() != 4 {
			t.Fatalf("timestamp unit %d, %d row groups", l.cols["timestamp"].unit, l.NumRowGroups())
		}
		// Written as pyarrow writes: OPTIONAL, not adjusted to UTC.
		for _, f := range l.f.Schema().Fields() {
			if !f.Optional() {
				t.Errorf("column %s is not OPTIONAL", f.Name())
			}
		}
		leaf, _ := l.f.Schema().Lookup("timestamp")
		var ts *format.TimestampType
		if lt := leaf.Node.Type().LogicalType(); lt != nil {
			ts, _ = lt.Value.(*format.TimestampType)
		}
		if ts == nil || ts.IsAdjustedToUTC {
			t.Errorf("timestamp logical type %+v, want not adjusted to UTC", ts)
		}
		full := map[int64]string{}
		errs := 0
		l.Scan(ScanOptions{}, func(row int64, rec *Record, err error) bool {
			i := int(row - 1)
			var want []Problem
			if i%13 == 7 {
				want = append(want, Problem{Field: "timestamp", Message: "NULL in a required column"})
			}
			if i%11 == 5 {
				want = append(want, Problem{Field: "model_digest", Message: "NULL in a required column"})
			}
			if want != nil {
				re, ok := err.(*RowError)
				if !ok || re.Row != row || !reflect.DeepEqual(re.Problems, want) {
					t.Errorf("row %d: %v, want the row error %+v", row, err, want)
				}
				b, _ := json.Marshal(re)
				full[row] = "error " + string(b)
				errs++
				return true
			}
			if err != nil {
				t.Fatalf("row %d: %v", row, err)
			}
			got, _ := Marshal(rec)
			exp, _ := Marshal(recs[i])
			if !bytes.Equal(got, exp) {
				t.Errorf("row %d:\n got %s\nwant %s", row, got, exp)
			}
			full[row] = string(got)
			return true
		})
		if len(full) != n || errs == 0 {
			t.Fatalf("page index %v: %d rows, %d row errors", pageIndex, len(full), errs)
		}
		// The column scan sees the same values.
		// output_text is not in the log: NULL in every row.
		names := []string{"timestamp", "model_version", "output_score", "model_digest", "output_text"}
		err = l.ScanColumns(names, ScanOptions{}, 2, func(_ int, b *ColumnBatch) error {
			for j := range b.Len {
				i := int(b.First) - 1 + j
				r := recs[i]
				if b.Null(0, j) != (i%13 == 7) || (!b.Null(0, j) && !b.Time(0, j).Equal(r.Timestamp)) ||
					b.Str(1, j) != r.System.Model.Version || b.Null(2, j) != (r.Output.Score == nil) ||
					(r.Output.Score != nil && b.Num(2, j) != *r.Output.Score) || b.Null(3, j) != (i%11 == 5) || !b.Null(4, j) {
					t.Errorf("row %d: column values differ", i+1)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rows := []int64{1, 2, 6, 8, 299, 300, 301, 302, 555, 556, 557, 1000}
		got, err := l.DecodeRows(rows, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range got {
			if s := rowText(d); s != full[d.Row] {
				t.Errorf("page index %v: DecodeRows row %d:\n got %s\nwant %s", pageIndex, d.Row, s, full[d.Row])
			}
		}
	}
}
