package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/digest"
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
		} else {
			r.RepriseVersion = "v1.2.3+85328d6e9a1b" // the reprise that wrote it, when one did
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

// smallGroupLog writes n records in row groups of 100 rows and pages of
// 1 KiB (so many groups and pages), one second apart; every 7th has no
// config digest (a NULL: a row error) and every 5th no score.
func smallGroupLog(t *testing.T, n int) ([]byte, time.Time) {
	t.Helper()
	base := validRecord(t)
	var buf bytes.Buffer
	w := NewParquetWriter(&buf, parquet.MaxRowsPerRowGroup(100), parquet.PageBufferSize(1<<10))
	for i := range n {
		r := *base
		r.RequestID = fmt.Sprintf("req_%05d", i)
		r.Timestamp = base.Timestamp.Add(time.Duration(i) * time.Second)
		r.System.Model.Version = fmt.Sprint(i % 3)
		if i%7 == 3 {
			r.System.Config.Digest = digest.Digest{}
		}
		if i%5 == 1 {
			r.Output.Score = nil
		} else {
			sc := float64(i%100) / 100
			r.Output.Score = &sc
		}
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), base.Timestamp
}

// TestParquetScanColumns reads a few columns on several workers and checks
// each row's values against the full decode, and the row groups skipped by
// the time range.
func TestParquetScanColumns(t *testing.T) {
	const n = 1050
	data, t0 := smallGroupLog(t, n)
	l, err := OpenParquetLog(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if l.NumRowGroups() != 11 {
		t.Fatalf("%d row groups, want 11", l.NumRowGroups())
	}
	names := []string{"timestamp", "model_version", "output_score", "request_id"}
	for _, workers := range []int{1, 3} {
		for _, tr := range []TimeRange{{}, {Since: t0.Add(250 * time.Second), Until: t0.Add(420 * time.Second)}} {
			// Rows in groups 2..4 (0-based) hold seconds 200..499.
			wantGroups := map[int]bool{}
			for g := range 11 {
				lo, hi := t0.Add(time.Duration(g*100)*time.Second), t0.Add(time.Duration(min(g*100+99, n-1))*time.Second)
				if (tr.Since.IsZero() || !hi.Before(tr.Since)) && (tr.Until.IsZero() || lo.Before(tr.Until)) {
					wantGroups[g] = true
				}
			}
			var mu sync.Mutex
			seen := map[int64]bool{}
			groups := map[int]bool{}
			err := l.ScanColumns(names, ScanOptions{Time: tr}, workers, func(w int, b *ColumnBatch) error {
				if w < 0 || w >= workers {
					t.Errorf("worker %d of %d", w, workers)
				}
				mu.Lock()
				defer mu.Unlock()
				groups[b.Group] = true
				if b.First != int64(b.Group*100+1) || b.Len != min(100, n-b.Group*100) {
					t.Errorf("group %d: first row %d, %d rows", b.Group, b.First, b.Len)
				}
				for i := range b.Len {
					row := b.First + int64(i)
					k := int(row - 1)
					seen[row] = true
					if want := t0.Add(time.Duration(k) * time.Second); !b.Time(0, i).Equal(want) || b.Null(0, i) {
						t.Errorf("row %d: timestamp %v, want %v", row, b.Time(0, i), want)
					}
					if b.Str(1, i) != fmt.Sprint(k%3) || b.Str(3, i) != fmt.Sprintf("req_%05d", k) {
						t.Errorf("row %d: version %q id %q", row, b.Str(1, i), b.Str(3, i))
					}
					if null := k%5 == 1; b.Null(2, i) != null || (!null && b.Num(2, i) != float64(k%100)/100) {
						t.Errorf("row %d: score %v (NULL %v)", row, b.Num(2, i), b.Null(2, i))
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(groups, wantGroups) {
				t.Errorf("workers %d range %v: groups %v, want %v", workers, tr, groups, wantGroups)
			}
			wantRows := 0
			for g := range wantGroups {
				wantRows += min(100, n-g*100)
			}
			if len(seen) != wantRows {
				t.Errorf("workers %d: %d rows seen, want %d", workers, len(seen), wantRows)
			}
		}
	}
	if err := l.ScanColumns([]string{"nope"}, ScanOptions{}, 1, func(int, *ColumnBatch) error { return nil }); !errors.Is(err, ErrNotLog) {
		t.Errorf("missing column: %v", err)
	}
	stop := errors.New("stop")
	if err := l.ScanColumns(names, ScanOptions{}, 2, func(int, *ColumnBatch) error { return stop }); err != stop {
		t.Errorf("fn's error: got %v", err)
	}
}

// TestParquetDecodeRows decodes chosen rows, with and without the page
// index, and compares them with the full scan.
// rowText is a decoded row as the tests compare it: "error " and the row
// error's JSON, or the record's JSON.
func rowText(d DecodedRow) string {
	if d.Err != nil {
		b, _ := json.Marshal(d.Err)
		return "error " + string(b)
	}
	b, _ := Marshal(d.Rec)
	return string(b)
}

func TestParquetDecodeRows(t *testing.T) {
	const n = 1050
	data, _ := smallGroupLog(t, n)
	want := map[int64]string{}
	l, err := OpenParquetLog(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	l.Scan(ScanOptions{}, func(row int64, rec *Record, err error) bool {
		if err != nil {
			b, _ := json.Marshal(err)
			want[row] = "error " + string(b)
		} else {
			b, _ := Marshal(rec)
			want[row] = string(b)
		}
		return true
	})
	if len(want) != n {
		t.Fatalf("scan: %d rows", len(want))
	}
	errRows := 0
	for _, s := range want {
		if strings.HasPrefix(s, "error ") {
			errRows++
		}
	}
	wantErrs := 0
	for i := range n {
		if i%7 == 3 {
			wantErrs++
		}
	}
	if errRows != wantErrs {
		t.Fatalf("%d row errors, want %d", errRows, wantErrs)
	}
	// Rows in no particular order, some in one page, some groups apart.
	rows := []int64{1050, 1, 2, 3, 4, 101, 99, 100, 517, 518, 700, 333, 334, 335, 990, 11}
	for _, noIndex := range []bool{false, true} {
		l.noIndex = noIndex
		got, err := l.DecodeRows(rows, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%d rows decoded", len(got))
		}
		for i, d := range got {
			if i > 0 && got[i-1].Row >= d.Row {
				t.Fatalf("rows not ascending: %d then %d", got[i-1].Row, d.Row)
			}
			if s := rowText(d); s != want[d.Row] {
				t.Errorf("noIndex %v row %d:\n got %s\nwant %s", noIndex, d.Row, s, want[d.Row])
			}
		}
	}
	for _, bad := range [][]int64{{0}, {n + 1}, {5, 5}} {
		if _, err := l.DecodeRows(bad, 1); err == nil {
			t.Errorf("DecodeRows(%v) succeeded", bad)
		}
	}
}
