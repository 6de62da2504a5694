package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
)

func validRecord(t testing.TB) *Record {
	t.Helper()
	r, err := Parse(validBytes(t))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func scanAll(t *testing.T, data []byte, opts ScanOptions) (recs []*Record, errs []*RowError) {
	t.Helper()
	l, err := OpenParquetLog(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	err = l.Scan(opts, func(row int64, rec *Record, err error) bool {
		if err != nil {
			errs = append(errs, err.(*RowError))
		} else {
			recs = append(recs, rec)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, errs
}

// TestParquetRoundTrip writes records and reads them back equal (compared
// as decoded records, through their JSON).
func TestParquetRoundTrip(t *testing.T) {
	base := validRecord(t)
	var want []*Record
	var buf bytes.Buffer
	w := NewParquetWriter(&buf)
	for i := range 3000 {
		r := *base
		r.RequestID = fmt.Sprintf("req_%04d", i)
		r.Timestamp = base.Timestamp.Add(time.Duration(i) * time.Second)
		if i%2 == 1 {
			r.Params.Seed = nil
			r.Output.Text = nil
		}
		want = append(want, &r)
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, errs := scanAll(t, buf.Bytes(), ScanOptions{})
	if len(errs) > 0 {
		t.Fatalf("row errors: %v", errs[0])
	}
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range got {
		a, _ := Marshal(got[i])
		b, _ := Marshal(want[i])
		if !bytes.Equal(a, b) {
			t.Fatalf("row %d:\n got %s\nwant %s", i+1, a, b)
		}
	}
	// A time range keeps rows in [since, until).
	since := base.Timestamp.Add(100 * time.Second)
	got, _ = scanAll(t, buf.Bytes(), ScanOptions{Time: TimeRange{Since: since, Until: since.Add(10 * time.Second)}})
	if len(got) != 10 || got[0].RequestID != "req_0100" {
		t.Fatalf("time range: got %d rows", len(got))
	}
}

// foreignRow is a log row as DuckDB, pyarrow and Spark write it: every
// column OPTIONAL, the timestamp in microseconds not adjusted to UTC.
type foreignRow struct {
	RequestID      *string  `parquet:"request_id,optional"`
	Timestamp      *int64   `parquet:"timestamp,optional"`
	InputDigest    *string  `parquet:"input_digest,optional"`
	InputMediaType *string  `parquet:"input_media_type,optional"`
	ParamsSeed     *int64   `parquet:"params_seed,optional"`
	SystemID       *string  `parquet:"system_id,optional"`
	SystemImage    *string  `parquet:"system_image,optional"`
	ModelName      *string  `parquet:"model_name,optional"`
	ModelVersion   *string  `parquet:"model_version,optional"`
	ModelDigest    *string  `parquet:"model_digest,optional"`
	ConfigName     *string  `parquet:"config_name,optional"`
	ConfigVersion  *string  `parquet:"config_version,optional"`
	ConfigDigest   *string  `parquet:"config_digest,optional"`
	Components     *string  `parquet:"components,optional"`
	Protocol       *string  `parquet:"protocol,optional"`
	HardwareClass  *string  `parquet:"hardware_class,optional"`
	OutputLabel    *string  `parquet:"output_label,optional"`
	OutputScore    *float64 `parquet:"output_score,optional"`
	OutputDigest   *string  `parquet:"output_digest,optional"`
}

func foreignSchema() *parquet.Schema {
	s := parquet.SchemaOf(foreignRow{})
	g := parquet.Group{}
	for _, f := range s.Fields() {
		g[f.Name()] = f
	}
	g["timestamp"] = parquet.Optional(parquet.TimestampAdjusted(parquet.Microsecond, false))
	return parquet.NewSchema("duckdb_schema", g)
}

func TestParquetForeignLog(t *testing.T) {
	r := validRecord(t)
	p := func(s string) *string { return &s }
	ts := r.Timestamp.UnixMicro()
	comps, _ := json.Marshal(r.System.Components)
	row := foreignRow{
		RequestID: p(r.RequestID), Timestamp: &ts, InputDigest: p(r.Input.Digest.String()), InputMediaType: p(r.Input.MediaType),
		ParamsSeed: r.Params.Seed, SystemID: p(r.System.ID.String()), SystemImage: p(r.System.Image.String()),
		ModelName: p(r.System.Model.Name), ModelVersion: p(r.System.Model.Version), ModelDigest: p(r.System.Model.Digest.String()),
		ConfigName: p(r.System.Config.Name), ConfigVersion: p(r.System.Config.Version), ConfigDigest: p(r.System.Config.Digest.String()),
		Components: p(string(comps)), Protocol: p(r.Runtime.Protocol), HardwareClass: p(r.Runtime.HardwareClass),
		OutputLabel: r.Output.Label, OutputScore: r.Output.Score, OutputDigest: p(r.Output.Digest.String()),
	}
	nullDigest := row
	nullDigest.ModelDigest = nil
	nullTS := row
	nullTS.Timestamp = nil
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[foreignRow](&buf, foreignSchema())
	if _, err := w.Write([]foreignRow{row, nullDigest, nullTS}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, errs := scanAll(t, buf.Bytes(), ScanOptions{})
	if len(got) != 1 || len(errs) != 2 {
		t.Fatalf("got %d records and %d row errors (%v), want 1 and 2", len(got), len(errs), errs[0])
	}
	if !got[0].Timestamp.Equal(r.Timestamp) {
		t.Errorf("timestamp %v, want %v", got[0].Timestamp, r.Timestamp)
	}
	want := []RowError{
		{Row: 2, Problems: []Problem{{Field: "model_digest", Message: "NULL in a required column"}}},
		{Row: 3, Problems: []Problem{{Field: "timestamp", Message: "NULL in a required column"}}},
	}
	for i := range want {
		if !reflect.DeepEqual(*errs[i], want[i]) {
			a, _ := json.Marshal(errs[i])
			t.Errorf("row error %d = %s, want %+v", i, a, want[i])
		}
	}
}
