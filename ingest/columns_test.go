package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/reprise-dev/reprise/record"
)

// exportRows are n rows of one log in the seed's shape, nested (output
// and params as objects) or flat (output_decision, params_seed…, as
// warehouse exports write them). Row i has no confidence when i%3 == 1,
// no decision when i%3 == 2, and no params when i%4 == 3.
func exportRows(in string, n int, flat bool) []map[string]any {
	var rows []map[string]any
	for i := range n {
		out := map[string]any{"decision": []string{"approved", "denied"}[i%2], "confidence": float64(i) / float64(n)}
		switch i % 3 {
		case 1:
			out["confidence"] = nil
		case 2:
			out["decision"] = nil
		}
		params := map[string]any{"seed": int64(1<<60 + i), "temperature": 0.7, "top_p": 0.9, "max_tokens": int64(256)}
		if i%4 == 3 {
			params = map[string]any{"seed": nil, "temperature": nil, "top_p": nil, "max_tokens": nil}
		}
		r := map[string]any{"request_id": fmt.Sprintf("req_%04d", i),
			"timestamp":  time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			"input_hash": in, "model_version": "registry://models/loan-approver:v2.4.1",
			"inference_image": "docker.io/mycompany/inference-loan:sha-a1b2c3d4", "config_version": "configs/prod/loan-params:v3"}
		if flat {
			for k, v := range out {
				r["output_"+k] = v
			}
			for k, v := range params {
				r["params_"+k] = v
			}
		} else {
			r["output"], r["params"] = out, params
		}
		rows = append(rows, r)
	}
	return rows
}

// jsonlExport writes rows as JSON Lines.
func jsonlExport(t *testing.T, rows []map[string]any) string {
	t.Helper()
	var b bytes.Buffer
	for _, r := range rows {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	path := filepath.Join(t.TempDir(), "log.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// parquetExport writes rows with Apache Arrow's Go Parquet writer (an
// independent writer, as pyarrow writes): nested as structs output and
// params, or flat columns; the timestamp in microseconds.
func parquetExport(t *testing.T, rows []map[string]any, flat bool) string {
	t.Helper()
	str := func(name string) arrow.Field {
		return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
	}
	f64 := func(name string) arrow.Field {
		return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}
	}
	i64 := func(name string) arrow.Field {
		return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	}
	out := []arrow.Field{str("decision"), f64("confidence")}
	params := []arrow.Field{i64("seed"), f64("temperature"), f64("top_p"), i64("max_tokens")}
	fields := []arrow.Field{str("request_id"), {Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		str("input_hash"), str("model_version"), str("inference_image"), str("config_version")}
	prefix := func(p string, fs []arrow.Field) []arrow.Field {
		var o []arrow.Field
		for _, f := range fs {
			f.Name = p + "_" + f.Name
			o = append(o, f)
		}
		return o
	}
	if flat {
		fields = append(append(fields, prefix("output", out)...), prefix("params", params)...)
	} else {
		fields = append(fields, arrow.Field{Name: "output", Type: arrow.StructOf(out...), Nullable: true},
			arrow.Field{Name: "params", Type: arrow.StructOf(params...), Nullable: true})
	}
	// The timestamp goes in as microseconds; the rest as JSON.
	var js bytes.Buffer
	for _, r := range rows {
		c := map[string]any{}
		for k, v := range r {
			c[k] = v
		}
		ts, _ := time.Parse(time.RFC3339, r["timestamp"].(string))
		c["timestamp"] = ts.UnixMicro()
		line, _ := json.Marshal(c)
		js.Write(append(line, '\n'))
	}
	schema := arrow.NewSchema(fields, nil)
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader("["+strings.ReplaceAll(strings.TrimSpace(js.String()), "\n", ",")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	var buf bytes.Buffer
	props := pq.NewWriterProperties(pq.WithMaxRowGroupLength(7), pq.WithCompression(compress.Codecs.Zstd))
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
	path := filepath.Join(t.TempDir(), "log.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestImportFlatAndNestedAgree: the nested and the flat export of one
// log, as JSON Lines and as Parquet, import to the same records (the
// seeds' shape and a warehouse export need no column map).
func TestImportFlatAndNestedAgree(t *testing.T) {
	im, in := fixture(t)
	const n = 24
	var want []*record.Record
	for _, c := range []struct {
		name string
		path func() string
	}{
		{"jsonl nested", func() string { return jsonlExport(t, exportRows(in.String(), n, false)) }},
		{"jsonl flat", func() string { return jsonlExport(t, exportRows(in.String(), n, true)) }},
		{"parquet nested", func() string { return parquetExport(t, exportRows(in.String(), n, false), false) }},
		{"parquet flat", func() string { return parquetExport(t, exportRows(in.String(), n, true), true) }},
	} {
		res := importFile(t, im, c.path())
		if len(res.errs) > 0 || len(res.recs) != n {
			t.Fatalf("%s: %d records, row errors %v", c.name, len(res.recs), res.errs)
		}
		if want == nil {
			want = res.recs
			if s := want[0].Params.Seed; s == nil || *s != 1<<60 || want[0].Output.Label == nil || want[0].Output.Score == nil {
				t.Fatalf("%s: row 1 resolved as %+v", c.name, want[0])
			}
			if want[3].Params.Seed != nil || want[1].Output.Score != nil || want[2].Output.Label != nil {
				t.Fatalf("%s: NULLs not kept: %+v %+v %+v", c.name, want[1].Output, want[2].Output, want[3].Params)
			}
			continue
		}
		for i := range want {
			if !reflect.DeepEqual(res.recs[i], want[i]) {
				a, _ := json.Marshal(want[i])
				b, _ := json.Marshal(res.recs[i])
				t.Fatalf("%s: row %d\n got %s\nwant %s", c.name, i+1, b, a)
			}
		}
	}
}

// TestImportColumnMap: a column map reads fields from other columns (and
// only from them); a field given in two columns is a row error naming
// both; a bad map is ErrColumnMap.
func TestImportColumnMap(t *testing.T) {
	im, in := fixture(t)
	rows := exportRows(in.String(), 3, true)
	for _, r := range rows {
		r["label"], r["req"] = r["output_decision"], r["request_id"]
		delete(r, "output_decision")
		delete(r, "request_id")
	}
	path := jsonlExport(t, rows)
	if res := importFile(t, im, path); len(res.recs) != 0 || !strings.Contains(res.errs[1], "request_id: missing") {
		t.Fatalf("without a map: records %v, errors %v", res.recs, res.errs)
	}
	cm, err := ParseColumnMap([]byte(`{"request_id": "req", "output.decision": "label"}`))
	if err != nil {
		t.Fatal(err)
	}
	im.Columns = cm
	res := importFile(t, im, path)
	if len(res.recs) != 3 || res.recs[0].RequestID != "req_0000" || *res.recs[0].Output.Label != "approved" {
		t.Fatalf("with a map: records %v, errors %v", res.recs, res.errs)
	}
	// Mapped to "label", output.decision is not read from output_decision.
	rows[0]["output_decision"], rows[0]["label"] = "approved", nil
	if res := importFile(t, im, jsonlExport(t, rows)); res.recs[0].Output.Label != nil {
		t.Errorf("a mapped field was read from its default column: %+v", res.recs[0].Output)
	}

	im.Columns = nil
	both := exportRows(in.String(), 2, true)
	both[0]["output"] = map[string]any{"decision": "denied"}
	both[1]["output"] = map[string]any{"decision": nil} // NULL beside a value: not two values
	res = importFile(t, im, jsonlExport(t, both))
	if !strings.Contains(res.errs[1], "output.decision: given twice, in columns output.decision and output_decision") {
		t.Errorf("row 1: %q", res.errs[1])
	}
	if len(res.recs) != 1 || res.recs[0].RequestID != "req_0001" {
		t.Errorf("records %v, errors %v", res.recs, res.errs)
	}

	for bad, why := range map[string]string{
		`{"output.label": "x"}`:                  `unknown field "output.label"`,
		`{"request_id": ""}`:                     "empty column name",
		`{"request_id": "a", "input_hash": "a"}`: `column "a" given to both input_hash and request_id`,
		`["request_id"]`:                         "JSON object",
		`{"request_id": "a"} {}`:                 "more than one JSON value",
	} {
		if _, err := ParseColumnMap([]byte(bad)); !errors.Is(err, ErrColumnMap) || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseColumnMap(%s) = %v, want ErrColumnMap saying %q", bad, err, why)
		}
	}
}
