package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWrite: the kept records go to one JSON file each; a repeated request
// id and an unresolved row are listed with their lines; Strict writes
// nothing; a second import merges into the folder without replacing a
// record (DestError with Merge).
func TestWrite(t *testing.T) {
	im, in := fixture(t)
	const model, image = "registry://models/loan-approver:v2.4.1", "docker.io/mycompany/inference-loan:sha-a1b2c3d4"
	dir := t.TempDir()
	log := filepath.Join(dir, "log.jsonl")
	lines := []string{seedLine("req_1", in.String(), model, image, 0.8), seedLine("req_1", in.String(), model, image, 0.7),
		seedLine("req_2", hex("f"), model, image, 0.5)}
	if err := os.WriteFile(log, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	out := filepath.Join(dir, "records")

	res, err := im.Write(ctx, log, WriteOptions{Dir: out, Strict: true})
	if !errors.Is(err, ErrUnresolved) || res == nil || len(res.Unresolved) != 2 {
		t.Fatalf("strict: %+v, %v", res, err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("strict wrote the folder")
	}

	res, err = im.Write(ctx, log, WriteOptions{Dir: out})
	if err != nil || res.Rows != 3 || res.Imported != 1 || res.Out != out {
		t.Fatalf("import: %+v, %v", res, err)
	}
	if u := res.Unresolved; len(u) != 2 || u[0].Line != 2 || !strings.Contains(u[0].Reason, "already on line 1") {
		t.Errorf("unresolved %+v", u)
	}
	if _, err := os.Stat(filepath.Join(out, "req_1.json")); err != nil {
		t.Error(err)
	}

	var dest *DestError
	if _, err := im.Write(ctx, log, WriteOptions{Dir: out}); !errors.As(err, &dest) || !dest.Merge || errors.Is(err, ErrDest) || !strings.HasPrefix(err.Error(), "--out-dir: ") {
		t.Fatalf("second import into the folder: %v", err)
	}
	// A destination that cannot be made is ErrDest, named by its flag.
	for _, c := range []struct {
		opts WriteOptions
		flag string
	}{{WriteOptions{Parquet: filepath.Join(out, "no", "such", "x.parquet")}, "-o: "}, {WriteOptions{Dir: filepath.Join(log, "sub")}, "--out-dir: "}} {
		if _, err := im.Write(ctx, log, c.opts); !errors.Is(err, ErrDest) || !strings.HasPrefix(err.Error(), c.flag) {
			t.Errorf("%+v: %v; want ErrDest starting %q", c.opts, err, c.flag)
		}
	}
}

// TestResultWriteText: the text form lists the counts, the destination,
// each listed unresolved row, and how many were not listed.
func TestResultWriteText(t *testing.T) {
	var b strings.Builder
	r := &Result{Log: "log.jsonl", Rows: 5, Imported: 2, Filtered: 0, UnresolvedRows: 3, Out: "out.parquet",
		Unresolved: []Unresolved{{Line: 2, Reason: "unknown model version"}}}
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	want := "log:          log.jsonl\nrows:         5\nimported:     2\nfiltered out: 0\nunresolved:   3\nout:          out.parquet\n" +
		"line 2: unknown model version\n(2 more unresolved rows not listed)\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestWriteParquetMode: the Parquet log an import writes is 0644, as
// record create -o writes its record (not the temporary file's 0600).
func TestWriteParquetMode(t *testing.T) {
	im, in := fixture(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "log.jsonl")
	line := seedLine("req_1", in.String(), "registry://models/loan-approver:v2.4.1", "docker.io/mycompany/inference-loan:sha-a1b2c3d4", 0.8)
	if err := os.WriteFile(log, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "records.parquet")
	if res, err := im.Write(context.Background(), log, WriteOptions{Parquet: out}); err != nil || res.Imported != 1 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v, %v", fi.Mode(), err)
	}
}
