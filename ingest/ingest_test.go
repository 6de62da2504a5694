package ingest

import (
	"bytes"
	"context"
	"fmt"
	"github.com/reprise-dev/reprise/buildinfo"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/store"
)

func hex(c string) string { return "sha256:" + strings.Repeat(c, 64) }

var mapJSON = `{
  "schema": "reprise/version-map/v1",
  "defaults": {"protocol": "jsonl-stdio", "hardware_class": "cpu/amd64/x86-64-v3"},
  "models": {"registry://models/loan-approver:v2.4.1": {"name": "loan-approver", "version": "2.4.1", "digest": "` + hex("a") + `"}},
  "configs": {"configs/prod/loan-params:v3": {"name": "loan-params", "version": "3", "digest": "` + hex("b") + `"}},
  "images": {"docker.io/mycompany/inference-loan:sha-a1b2c3d4": "registry.example.com/inference/loan@` + hex("c") + `"}
}`

func fixture(t *testing.T) (*Importer, digest.Digest) {
	t.Helper()
	m, err := ParseVersionMap([]byte(mapJSON))
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMem()
	d, err := st.PutBytes(context.Background(), []byte(`{"income": 52000}`), store.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return &Importer{Map: m, Inputs: st}, d
}

func seedLine(id, input, model, image string, score float64) string {
	return fmt.Sprintf(`{"request_id": %q, "timestamp": "2026-08-02T10:00:00Z", "input_hash": %q, "model_version": %q, "inference_image": %q, "config_version": "configs/prod/loan-params:v3", "output": {"decision": "approved", "confidence": %v}}`,
		id, input, model, image, score)
}

type result struct {
	recs []*record.Record
	errs map[int64]string
}

func importFile(t *testing.T, im *Importer, path string) result {
	t.Helper()
	res := result{errs: map[int64]string{}}
	err := im.Import(context.Background(), path, func(line int64, rec *record.Record, err error) bool {
		if err != nil {
			res.errs[line] = err.Error()
		} else {
			res.recs = append(res.recs, rec)
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestImportJSONLines(t *testing.T) {
	im, in := fixture(t)
	const model, image = "registry://models/loan-approver:v2.4.1", "docker.io/mycompany/inference-loan:sha-a1b2c3d4"
	lines := []string{
		seedLine("req_1", "sha256-"+in.Hex(), model, image, 0.87),
		seedLine("req_2", in.String(), "registry://models/loan-approver:v9", image, 0.5),
		seedLine("req_3", hex("f"), model, image, 0.5),
		`{"request_id": "req_4", "timestamp": `,
		"",
		seedLine("req_6", in.String(), model, "docker.io/mycompany/inference-loan:latest", 0.5),
	}
	path := filepath.Join(t.TempDir(), "log.jsonl")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	res := importFile(t, im, path)
	if len(res.recs) != 1 || res.recs[0].RequestID != "req_1" {
		t.Fatalf("records %v", res.recs)
	}
	r := res.recs[0]
	if r.System.Model.Version != "2.4.1" || r.System.Image.Digest.String() != hex("c") || *r.Output.Label != "approved" || *r.Output.Score != 0.87 {
		t.Errorf("record resolved as %+v", r)
	}
	if probs := r.Validate(); len(probs) > 0 {
		t.Errorf("invalid record: %v", probs)
	}
	if r.RepriseVersion != buildinfo.Version() || r.RepriseVersion == "" {
		t.Errorf("reprise_version %q, want %q (the reprise that imported it)", r.RepriseVersion, buildinfo.Version())
	}
	want := map[int64]string{
		2: "unknown model version",
		3: "not in the store",
		4: "malformed JSON",
		6: "unknown image",
	}
	if len(res.errs) != len(want) {
		t.Errorf("row errors %v", res.errs)
	}
	for line, sub := range want {
		if !strings.Contains(res.errs[line], sub) {
			t.Errorf("line %d: error %q, want it to say %q", line, res.errs[line], sub)
		}
	}
}

// seedRow is the seed's shape as DuckDB writes it from JSON: every column
// OPTIONAL, output a struct, timestamp in microseconds not adjusted to UTC.
type seedRow struct {
	RequestID      *string `parquet:"request_id,optional"`
	Timestamp      *int64  `parquet:"timestamp,optional"`
	InputHash      *string `parquet:"input_hash,optional"`
	ModelVersion   *string `parquet:"model_version,optional"`
	InferenceImage *string `parquet:"inference_image,optional"`
	ConfigVersion  *string `parquet:"config_version,optional"`
	Output         *struct {
		Decision   *string  `parquet:"decision,optional"`
		Confidence *float64 `parquet:"confidence,optional"`
	} `parquet:"output,optional"`
}

func TestImportParquetSeedShape(t *testing.T) {
	im, in := fixture(t)
	s := parquet.SchemaOf(seedRow{})
	g := parquet.Group{}
	for _, f := range s.Fields() {
		g[f.Name()] = f
	}
	g["timestamp"] = parquet.Optional(parquet.TimestampAdjusted(parquet.Microsecond, false))
	p := func(s string) *string { return &s }
	ts := time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC).UnixMicro()
	row := seedRow{RequestID: p("req_1"), Timestamp: &ts, InputHash: p(in.String()),
		ModelVersion: p("registry://models/loan-approver:v2.4.1"), InferenceImage: p("docker.io/mycompany/inference-loan:sha-a1b2c3d4"),
		ConfigVersion: p("configs/prod/loan-params:v3")}
	row.Output = &struct {
		Decision   *string  `parquet:"decision,optional"`
		Confidence *float64 `parquet:"confidence,optional"`
	}{Decision: p("denied")}
	nullModel := row
	nullModel.ModelVersion = nil
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[seedRow](&buf, parquet.NewSchema("duckdb_schema", g))
	w.Write([]seedRow{row, nullModel})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "log.parquet")
	os.WriteFile(path, buf.Bytes(), 0o644)
	res := importFile(t, im, path)
	if len(res.recs) != 1 || *res.recs[0].Output.Label != "denied" || !res.recs[0].Timestamp.Equal(time.UnixMicro(ts)) {
		t.Fatalf("records %+v errs %v", res.recs, res.errs)
	}
	if !strings.Contains(res.errs[2], "model_version: missing") {
		t.Errorf("row 2: %q", res.errs[2])
	}
}

func TestWhere(t *testing.T) {
	im, in := fixture(t)
	row, _ := jsonRow([]byte(seedLine("req_1", in.String(), "registry://models/loan-approver:v2.4.1", "docker.io/mycompany/inference-loan:sha-a1b2c3d4", 0.6)))
	rec, probs := im.Resolve(context.Background(), row)
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cases := []struct {
		expr    string
		want    bool
		wantErr bool
	}{
		{`model.version == "2.4.1" && output.score < 0.7`, true, false},
		{`model.version == "2.4.1" && output.score >= 0.7`, false, false},
		{`output.label == "approved" && timestamp > timestamp("2026-01-01T00:00:00Z")`, true, false},
		{`has(output.text) && output.text == "x"`, false, false},
		{`output.text == "x"`, false, true},
	}
	for _, c := range cases {
		w, err := CompileWhere(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		got, err := w.Match(rec)
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("%s = %v, %v", c.expr, got, err)
		}
	}
	for _, bad := range []string{`model.version ==`, `1 + 2`, `nosuch == 1`} {
		if _, err := CompileWhere(bad); err == nil {
			t.Errorf("CompileWhere(%q) compiled", bad)
		}
	}
}

func TestParseTimeBound(t *testing.T) {
	now := time.Date(2026, 8, 3, 10, 0, 0, 0, time.UTC)
	if got, _ := ParseTimeBound("24h", now); !got.Equal(now.Add(-24 * time.Hour)) {
		t.Errorf("24h -> %v", got)
	}
	if got, _ := ParseTimeBound("2026-08-01T00:00:00Z", now); got.Day() != 1 {
		t.Errorf("rfc3339 -> %v", got)
	}
	if _, err := ParseTimeBound("yesterday", now); err == nil {
		t.Error("yesterday parsed")
	}
}

func TestVersionMapRefusesTag(t *testing.T) {
	bad := strings.Replace(mapJSON, "registry.example.com/inference/loan@"+hex("c"), "registry.example.com/inference/loan:2.4.1", 1)
	if _, err := ParseVersionMap([]byte(bad)); err == nil {
		t.Error("a tag mapped to a tag was accepted")
	}
}
