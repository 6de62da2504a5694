package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/ingest"
	"github.com/reprise-dev/reprise/record"
)

// importFixture makes a store holding one input, a version map and a seed-
// shaped JSON Lines log with 3 good rows and 2 unresolvable ones.
func importFixture(t *testing.T) (dir, storeDir, logPath, mapPath string) {
	t.Helper()
	dir = t.TempDir()
	storeDir = filepath.Join(dir, "store")
	in := writeFile(t, dir, "input.json", `{"income": 52000}`)
	r := cli(t, "", "--store", storeDir, "store", "put", in)
	if r.code != 0 {
		t.Fatalf("store put: %d %s", r.code, r.err)
	}
	inDigest := "sha256:" + sha256hex(`{"income": 52000}`)
	h := func(c string) string { return "sha256:" + strings.Repeat(c, 64) }
	mapPath = writeFile(t, dir, "versions.json", `{
  "schema": "reprise/version-map/v1",
  "defaults": {"protocol": "jsonl-stdio", "hardware_class": "cpu/amd64/x86-64-v3"},
  "models": {"registry://models/loan-approver:v2.4.1": {"name": "loan-approver", "version": "2.4.1", "digest": "`+h("a")+`"},
             "registry://models/loan-approver:v2.5.0": {"name": "loan-approver", "version": "2.5.0", "digest": "`+h("d")+`"}},
  "configs": {"configs/prod/loan-params:v3": {"name": "loan-params", "version": "3", "digest": "`+h("b")+`"}},
  "images": {"docker.io/mycompany/inference-loan:sha-a1b2c3d4": "registry.example.com/inference/loan@`+h("c")+`"}
}`)
	row := func(id, model, input string, conf float64) string {
		return fmt.Sprintf(`{"request_id": %q, "timestamp": "2026-08-02T10:00:00Z", "input_hash": %q, "model_version": "registry://models/loan-approver:%s", "inference_image": "docker.io/mycompany/inference-loan:sha-a1b2c3d4", "config_version": "configs/prod/loan-params:v3", "output": {"decision": "approved", "confidence": %v}}`, id, input, model, conf)
	}
	logPath = writeFile(t, dir, "decisions.jsonl", strings.Join([]string{
		row("req_1", "v2.4.1", inDigest, 0.87),
		row("req_2", "v2.4.1", inDigest, 0.65),
		row("req_3", "v9.9.9", inDigest, 0.5),
		row("req_4", "v2.5.0", inDigest, 0.5),
		row("req_5", "v2.4.1", h("e"), 0.5),
	}, "\n")+"\n")
	return
}

func TestRecordImport(t *testing.T) {
	dir, st, logPath, mapPath := importFixture(t)
	out := filepath.Join(dir, "records.parquet")
	r := cli(t, "", "--store", st, "record", "import", "--log", logPath, "--versions", mapPath, "-o", out, "--format", "json")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	var res ingest.Result
	if err := json.Unmarshal([]byte(r.out), &res); err != nil {
		t.Fatal(err, r.out)
	}
	if res.Imported != 3 || len(res.Unresolved) != 2 || res.Unresolved[0].Line != 3 || res.Unresolved[1].Line != 5 ||
		!strings.Contains(res.Unresolved[0].Reason, "unknown model version") || !strings.Contains(res.Unresolved[1].Reason, "not in the store") {
		t.Fatalf("result %+v", res)
	}
	b, _ := os.ReadFile(out)
	l, err := record.OpenParquetLog(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	l.Scan(record.ScanOptions{}, func(_ int64, rec *record.Record, err error) bool {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.RequestID)
		return true
	})
	if strings.Join(ids, ",") != "req_1,req_2,req_4" {
		t.Errorf("records %v", ids)
	}

	// --where with the seed's own query, into a folder.
	outDir := filepath.Join(dir, "recs")
	r = cli(t, "", "--store", st, "record", "import", "--log", logPath, "--versions", mapPath, "--out-dir", outDir,
		"--where", `model.version == "2.4.1" && output.score < 0.7`)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.err)
	}
	ents, _ := os.ReadDir(outDir)
	if len(ents) != 1 || ents[0].Name() != "req_2.json" {
		t.Errorf("out-dir holds %v", ents)
	}
	if !strings.Contains(r.out, "line 3: model_version: unknown model version") {
		t.Errorf("text output does not list line 3:\n%s", r.out)
	}

	// --strict: exit 2 and nothing written.
	strictOut := filepath.Join(dir, "strict.parquet")
	r = cli(t, "", "--store", st, "record", "import", "--log", logPath, "--versions", mapPath, "-o", strictOut, "--strict")
	if r.code != 2 {
		t.Errorf("--strict: exit %d", r.code)
	}
	if _, err := os.Stat(strictOut); err == nil {
		t.Error("--strict wrote the output")
	}
	// Bad flags.
	for _, args := range [][]string{
		{"record", "import", "--log", logPath},
		{"record", "import", "--log", logPath, "--versions", mapPath, "-o", out, "--where", "model.version =="},
		{"record", "import", "--log", logPath, "--versions", mapPath, "-o", out, "--since", "yesterday"},
		{"record", "import", "--log", logPath, "--versions", logPath, "-o", out},
	} {
		if r := cli(t, "", append([]string{"--store", st}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.err)
		}
	}
}
