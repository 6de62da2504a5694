package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
)

// cli runs the CLI in-process with buffers and returns the exit code.
type cliResult struct {
	code     int
	out, err string
}

func cli(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(context.Background(), &streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}, args)
	return cliResult{code, out.String(), errb.String()}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const testImage = "registry.example.com/inference/loan@sha256:1111111111111111111111111111111111111111111111111111111111111111"

// newRecordFixture creates a store and a record in dir through the CLI.
func newRecordFixture(t *testing.T) (dir, storeDir, recPath string) {
	t.Helper()
	dir = t.TempDir()
	storeDir = filepath.Join(dir, "store")
	in := writeFile(t, dir, "input.json", `{"income": 52000, "debt_ratio": 0.31}`)
	model := writeFile(t, dir, "model.bin", "weights v1")
	cfg := writeFile(t, dir, "config.json", `{"name":"loan-params","version":"3","temperature":0.7}`)
	recPath = filepath.Join(dir, "record.json")
	r := cli(t, "", "--store", storeDir, "record", "create", "--input", in, "--image", testImage,
		"--model", model, "--model-name", "loan-approver", "--model-version", "2.4.1", "--config", cfg,
		"--label", "approved", "--score", "0.87", "--seed", "42", "--temperature", "0.7",
		"--request-id", "req_test1", "--hardware-class", "cpu/amd64/x86-64-v3",
		"--timestamp", "2026-08-02T10:00:00Z", "-o", recPath)
	if r.code != 0 {
		t.Fatalf("record create: exit %d: %s", r.code, r.err)
	}
	return dir, storeDir, recPath
}

func TestStorePutGetLsVerify(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	f := writeFile(t, dir, "a.json", `{"a":1}`)
	r := cli(t, "", "--store", st, "store", "put", f)
	if r.code != 0 || !strings.HasPrefix(r.out, "sha256:") {
		t.Fatalf("put: %+v", r)
	}
	d := strings.TrimSpace(r.out)
	if r2 := cli(t, "", "--store", st, "store", "put", f); r2.out != r.out {
		t.Fatalf("second put differs: %q vs %q", r2.out, r.out)
	}
	if r := cli(t, "stdin bytes", "--store", st, "store", "put", "-"); r.code != 0 || strings.TrimSpace(r.out) != "sha256:"+sha256hex("stdin bytes") {
		t.Fatalf("put -: %+v", r)
	}
	if r := cli(t, "", "--store", st, "store", "get", d); r.code != 0 || r.out != `{"a":1}` {
		t.Fatalf("get: %+v", r)
	}
	outFile := filepath.Join(dir, "back.json")
	if r := cli(t, "", "--store", st, "store", "get", d, "-o", outFile); r.code != 0 {
		t.Fatalf("get -o: %+v", r)
	}
	if b, _ := os.ReadFile(outFile); string(b) != `{"a":1}` {
		t.Fatalf("get -o wrote %q", b)
	}
	if r := cli(t, "", "--store", st, "store", "ls"); r.code != 0 || !strings.Contains(r.out, d) || !strings.Contains(r.out, "a.json") || !strings.Contains(r.out, "application/json") {
		t.Fatalf("ls: %+v", r)
	}
	if r := cli(t, "", "--store", st, "store", "verify"); r.code != 0 {
		t.Fatalf("verify: %+v", r)
	}
	// Errors: a bad digest is exit 2, an absent blob exit 4, a missing file exit 2.
	if r := cli(t, "", "--store", st, "store", "get", "sha256:abc"); r.code != 2 || !strings.Contains(r.err, "DIGEST") {
		t.Fatalf("get bad digest: %+v", r)
	}
	if r := cli(t, "", "--store", st, "store", "get", "sha256:"+sha256hex("nothing")); r.code != 4 || !strings.Contains(r.err, "not found") {
		t.Fatalf("get absent: %+v", r)
	}
	if r := cli(t, "", "--store", st, "store", "put", filepath.Join(dir, "nope")); r.code != 2 || !strings.Contains(r.err, "nope") {
		t.Fatalf("put missing: %+v", r)
	}
	if r := cli(t, "", "--store", st, "store", "ls", "--bogus"); r.code != 2 {
		t.Fatalf("bad flag: %+v", r)
	}
	// Corrupt the blob: verify exits 4 naming it; get refuses it.
	p := filepath.Join(st, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	os.Chmod(p, 0o644)
	os.WriteFile(p, []byte(`{"a":2}`), 0o644)
	r = cli(t, "", "--store", st, "store", "verify")
	if r.code != 4 || !strings.Contains(r.out, strings.TrimPrefix(d, "sha256:")) || !strings.Contains(r.out, "corrupt") {
		t.Fatalf("verify corrupt: %+v", r)
	}
	if r := cli(t, "", "--store", st, "store", "get", d); r.code != 4 || r.out != "" {
		t.Fatalf("get corrupt: %+v", r)
	}
	// A --store that cannot be a store is a usage error naming it.
	notDir := writeFile(t, dir, "plainfile", "x")
	if r := cli(t, "", "--store", notDir, "store", "ls"); r.code != 2 || !strings.Contains(r.err, notDir) {
		t.Fatalf("bad --store: %+v", r)
	}
	// $REPRISE_STORE is honoured.
	t.Setenv("REPRISE_STORE", st)
	if r := cli(t, "", "store", "verify"); r.code != 4 {
		t.Fatalf("REPRISE_STORE not used: %+v", r)
	}
}

func sha256hex(s string) string {
	return digest.FromBytes([]byte(s)).Hex()
}

func TestRecordCreateVerify(t *testing.T) {
	_, st, rec := newRecordFixture(t)
	r := cli(t, "", "--store", st, "verify", rec)
	if r.code != 0 || !strings.Contains(r.out, "ok") {
		t.Fatalf("verify: %+v", r)
	}
	r = cli(t, "", "--store", st, "verify", "--format", "json", rec)
	var res struct {
		OK      bool `json:"ok"`
		Records []struct {
			RequestID string `json:"request_id"`
			OK        bool   `json:"ok"`
		} `json:"records"`
	}
	if err := json.Unmarshal([]byte(r.out), &res); err != nil || !res.OK || len(res.Records) != 1 || res.Records[0].RequestID != "req_test1" {
		t.Fatalf("verify json: %v %+v", err, r)
	}
	if !strings.Contains(r.out, `"problems": []`) {
		t.Errorf("verify json of a record that holds: no empty problems list:\n%s", r.out)
	}
}

func TestVerifyFailures(t *testing.T) {
	type edit func(t *testing.T, st string, m map[string]any)
	cases := []struct {
		name  string
		edit  edit
		code  int
		field string
	}{
		{"input blob byte changed", func(t *testing.T, st string, m map[string]any) {
			d := m["input"].(map[string]any)["digest"].(string)
			p := filepath.Join(st, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
			os.Chmod(p, 0o644)
			b, _ := os.ReadFile(p)
			b[0] ^= 1
			os.WriteFile(p, b, 0o644)
		}, 4, "input.digest"},
		{"model digest changed", func(t *testing.T, st string, m map[string]any) {
			mod := m["system"].(map[string]any)["model"].(map[string]any)
			d := mod["digest"].(string)
			mod["digest"] = d[:len(d)-1] + map[bool]string{true: "0", false: "1"}[d[len(d)-1] != '0']
		}, 4, "system.model.digest"},
		{"image swapped for a tag", func(t *testing.T, st string, m map[string]any) {
			m["system"].(map[string]any)["image"] = "registry.example.com/inference/loan:2.4.1"
		}, 4, "system.image"},
		{"model blob missing", func(t *testing.T, st string, m map[string]any) {
			d := m["system"].(map[string]any)["model"].(map[string]any)["digest"].(string)
			os.Remove(filepath.Join(st, "blobs", "sha256", strings.TrimPrefix(d, "sha256:")))
		}, 4, "system.model.digest"},
		{"unknown field", func(t *testing.T, st string, m map[string]any) { m["surprise"] = true }, 2, "surprise"},
		{"missing required field", func(t *testing.T, st string, m map[string]any) { delete(m, "output") }, 2, "output"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, st, rec := newRecordFixture(t)
			var m map[string]any
			b, _ := os.ReadFile(rec)
			json.Unmarshal(b, &m)
			c.edit(t, st, m)
			b, _ = json.Marshal(m)
			os.WriteFile(rec, b, 0o644)
			r := cli(t, "", "--store", st, "verify", rec)
			if r.code != c.code || !strings.Contains(r.out, rec+": "+c.field+":") {
				t.Fatalf("exit %d (want %d), out %q err %q; want a line naming %s", r.code, c.code, r.out, r.err, c.field)
			}
			// --format json: each problem is exactly {"field", "message"}.
			r = cli(t, "", "--store", st, "verify", "--format", "json", rec)
			var res struct {
				Records []struct {
					Problems []map[string]string `json:"problems"`
				} `json:"records"`
			}
			if err := json.Unmarshal([]byte(r.out), &res); err != nil || len(res.Records) != 1 || len(res.Records[0].Problems) == 0 {
				t.Fatalf("verify json: %v %q", err, r.out)
			}
			for _, pr := range res.Records[0].Problems {
				if _, ok := pr["message"]; len(pr) != 2 || !ok || pr["message"] == "" {
					t.Errorf("problem %v: want the keys field and message", pr)
				}
			}
		})
	}
	t.Run("invalid JSON", func(t *testing.T) {
		dir := t.TempDir()
		p := writeFile(t, dir, "bad.json", `{"schema": `)
		if r := cli(t, "", "--store", emptyStore(t, dir), "verify", p); r.code != 2 || !strings.Contains(r.out, "invalid JSON") {
			t.Fatalf("%+v", r)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		if r := cli(t, "", "--store", emptyStore(t, dir), "verify", filepath.Join(dir, "none.json")); r.code != 2 || !strings.Contains(r.out, "no such file") {
			t.Fatalf("%+v", r)
		}
	})
}

func TestRecordCreateErrors(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store")
	in := writeFile(t, dir, "in.json", `{}`)
	model := writeFile(t, dir, "m.bin", "m")
	cfg := writeFile(t, dir, "c.json", `{}`)
	base := []string{"--store", st, "record", "create", "--input", in, "--model", model, "--config", cfg}
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"tag only", []string{"--image", "loan:2.4.1", "--label", "x"}, 4, "pinned by tag"},
		{"no output", []string{"--image", testImage}, 2, "stored output is required"},
		{"missing input file", []string{"--image", testImage, "--label", "x", "--input", filepath.Join(dir, "nope.json")}, 2, "nope.json"},
		{"no image", []string{"--label", "x"}, 2, "--image is required"},
		{"bad protocol", []string{"--image", testImage, "--label", "x", "--protocol", "grpc"}, 2, "unknown protocol"},
		{"bad hardware class", []string{"--image", testImage, "--label", "x", "--hardware-class", "fast"}, 2, "hardware_class"},
		{"bad timestamp", []string{"--image", testImage, "--label", "x", "--timestamp", "now"}, 2, "RFC 3339"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cli(t, "", append(append([]string{}, base...), c.args...)...)
			if r.code != c.code || !strings.Contains(r.err, c.msg) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", r.code, c.code, r.err, c.msg)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	r := cli(t, "", "env", "--format", "json")
	var env map[string]any
	if r.code != 0 || json.Unmarshal([]byte(r.out), &env) != nil {
		t.Fatalf("env: %+v", r)
	}
	if hc, _ := env["hardware_class"].(string); !strings.HasPrefix(hc, "cpu/") && !strings.HasPrefix(hc, "gpu/") {
		t.Fatalf("hardware_class = %v", env["hardware_class"])
	}
}

// TestRecordCreateInvalidStoresNothing: invalid parts exit 2 and leave no
// blob in the store, also those found only after the files are read
// (issue 8, items 11 and 20).
func TestRecordCreateInvalidStoresNothing(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.json", `{}`)
	model := writeFile(t, dir, "m.bin", "m")
	cfg := writeFile(t, dir, "c.json", `{}`)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"NaN score", []string{"--score", "NaN"}, "score must be finite"},
		{"infinite score", []string{"--score", "+Inf"}, "score must be finite"},
		{"bad request id", []string{"--label", "x", "--request-id", "-bad id"}, "request_id"},
		{"bad hardware class", []string{"--label", "x", "--hardware-class", "fast"}, "hardware_class"},
		{"bad temperature", []string{"--label", "x", "--temperature", "-1"}, "params.temperature"},
		{"missing output file", []string{"--label", "x", "--output-file", filepath.Join(dir, "nope.json")}, "--output-file"},
		{"model is a device", []string{"--label", "x", "--model", "/dev/zero"}, "not a regular file"},
		{"component is a device", []string{"--label", "x", "--component", "tok=/dev/zero"}, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := filepath.Join(t.TempDir(), "store")
			args := append([]string{"--store", st, "record", "create", "--image", testImage,
				"--input", in, "--model", model, "--config", cfg}, c.args...)
			r := cli(t, "", args...)
			if r.code != 2 || !strings.Contains(r.err, c.msg) {
				t.Fatalf("exit %d (want 2), stderr %q (want %q)", r.code, r.err, c.msg)
			}
			blobs, _ := os.ReadDir(filepath.Join(st, "blobs", "sha256"))
			if len(blobs) != 0 {
				t.Fatalf("%d blobs stored by a refused record create", len(blobs))
			}
		})
	}
}
