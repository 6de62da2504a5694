package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reprise-dev/reprise/record"
	"github.com/reprise-dev/reprise/record/parquettest"
)

// proc is how a reprise subprocess ended.
type proc struct {
	code    int
	stderr  string
	elapsed time.Duration
	maxRSS  int64 // bytes (VmHWM), -1 when unknown
}

// writeHWM writes the peak resident memory of this process (VmHWM of
// /proc/self/status, in kB) to $REPRISE_TEST_HWM_FILE when it is set. The
// rusage of a child is no measure here: os/exec starts it with CLONE_VM,
// so its ru_maxrss starts at the test binary's own peak.
func writeHWM() {
	path := os.Getenv("REPRISE_TEST_HWM_FILE")
	if path == "" {
		return
	}
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			os.WriteFile(path, []byte(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))), 0o644)
		}
	}
}

// startCLI starts the test binary as reprise with args; its peak RSS goes
// to hwm.
func startCLI(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "REPRISE_TEST_AS_CLI=1", "REPRISE_TEST_HWM_FILE="+filepath.Join(t.TempDir(), "hwm"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// wait waits at most limit for cmd (then kills it and fails).
func wait(t *testing.T, cmd *exec.Cmd, stderr *bytes.Buffer, start time.Time, limit time.Duration) proc {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v still running after %v; stderr %s", cmd.Args[1:], limit, stderr)
	}
	p := proc{code: cmd.ProcessState.ExitCode(), stderr: stderr.String(), elapsed: time.Since(start), maxRSS: -1}
	for _, e := range cmd.Env {
		if path, ok := strings.CutPrefix(e, "REPRISE_TEST_HWM_FILE="); ok {
			if b, err := os.ReadFile(path); err == nil {
				if kb, err := strconv.ParseInt(string(b), 10, 64); err == nil {
					p.maxRSS = kb << 10
				}
			}
		}
	}
	return p
}

// bombLog is a decision log of records whose first timestamp page holds a
// zstd frame of 1 GiB of zeros (~32 KiB) and declares declared bytes (its
// column chunk 2 GiB).
func bombLog(t *testing.T, dir, name string, declared int32) string {
	t.Helper()
	var buf bytes.Buffer
	w := record.NewParquetWriter(&buf)
	rec, err := record.Parse([]byte(mustRead(t, "testdata/records/valid.json")))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		r := *rec
		r.RequestID = fmt.Sprintf("req_%03d", i)
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := parquettest.Patch{Column: "timestamp", Declared: declared, Data: parquettest.ZstdZeros(1 << 30), ChunkTotal: 2 << 30}.Apply(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(b))
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHostileInputs: a Parquet decompression bomb, a FIFO, /dev/zero and a
// symlinked suite file each end reprise (a subprocess) with exit 2 and an
// error naming the file within a second, with a peak RSS under 200 MB.
func TestHostileInputs(t *testing.T) {
	dir, storeDir, logPath, mapPath := importFixture(t)
	bomb := bombLog(t, dir, "bomb.parquet", 1<<30)
	small := bombLog(t, dir, "small.parquet", 1000)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	secret := writeFile(t, dir, "secret.txt", "TOP-SECRET-CONTENT\n")
	suite := filepath.Join(dir, "suite")
	os.Mkdir(suite, 0o755)
	writeFile(t, suite, "suite.json", `{"name":"s","version":"1","scorer":{"type":"label"}}`)
	if err := os.Symlink(secret, filepath.Join(suite, "items.jsonl")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.parquet")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"bombed log", []string{"record", "import", "--log", bomb, "--versions", mapPath, "-o", out},
			[]string{bomb + ": unreadable decision log: Parquet file refused: column timestamp, row group 0, page 0: declares 1073741824 bytes uncompressed, over the page size limit of 67108864 bytes (--max-page-size raises it)"}},
		{"bombed log declaring 1000 bytes", []string{"record", "import", "--log", small, "--versions", mapPath, "-o", out},
			[]string{small + ": unreadable decision log: Parquet file refused: column timestamp, row group 0, page 0: ZSTD data decompresses to more than the 997 bytes it declares"}},
		{"bombed nightly log", []string{"nightly", "--log", bomb, "--output", filepath.Join(dir, "night"), "--runner", "process", "--entrypoint", "/bin/true"},
			[]string{bomb + ": Parquet file refused: column timestamp, row group 0, page 0: declares 1073741824 bytes"}},
		{"FIFO log", []string{"record", "import", "--log", fifo, "--versions", mapPath, "-o", out},
			[]string{fifo + ": is a named pipe, not a regular file"}},
		{"FIFO versions", []string{"record", "import", "--log", logPath, "--versions", fifo, "-o", out},
			[]string{fifo + ": is a named pipe, not a regular file"}},
		{"/dev/zero versions", []string{"record", "import", "--log", logPath, "--versions", "/dev/zero", "-o", out},
			[]string{"/dev/zero: is a character device, not a regular file"}},
		{"/dev/zero log", []string{"record", "import", "--log", "/dev/zero", "--versions", mapPath, "-o", out},
			[]string{"/dev/zero: is a character device, not a regular file"}},
		{"symlinked suite items", []string{"evals", "pack", suite},
			[]string{filepath.Join(suite, "items.jsonl") + ": is a symbolic link (not followed), not a regular file"}},
		{"FIFO dataset", []string{"data", "pack", fifo},
			[]string{fifo + ": is a named pipe, not a regular file"}},
		{"bombed dataset", []string{"data", "pack", bomb},
			[]string{"bomb.parquet: Parquet file refused: column timestamp, row group 0, page 0"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			cmd, stderr := startCLI(t, append([]string{"--store", storeDir}, c.args...)...)
			p := wait(t, cmd, stderr, start, 10*time.Second)
			if p.code != 2 {
				t.Errorf("exit %d, want 2; stderr %s", p.code, p.stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(p.stderr, w) {
					t.Errorf("stderr %q, want %q", p.stderr, w)
				}
			}
			if strings.Contains(p.stderr, "TOP-SECRET") {
				t.Errorf("stderr shows the linked file: %s", p.stderr)
			}
			if p.elapsed > time.Second {
				t.Errorf("took %v, want under a second", p.elapsed)
			}
			if p.maxRSS < 0 || p.maxRSS > 200<<20 {
				t.Errorf("peak RSS %d MB, want under 200 MB", p.maxRSS>>20)
			}
		})
	}
}

// TestImportCtrlC: SIGINT and SIGTERM end a long import (a JSON Lines log
// of a million rows, none resolvable) with exit 130 within a second, and
// nothing is written.
func TestImportCtrlC(t *testing.T) {
	dir, storeDir, _, mapPath := importFixture(t)
	line := `{"request_id": "r", "timestamp": "2026-08-02T10:00:00Z", "model_version": "x"}` + "\n"
	long := writeFile(t, dir, "long.jsonl", strings.Repeat(line, 1_000_000))
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.parquet")
			cmd, stderr := startCLI(t, "--store", storeDir, "record", "import", "--log", long, "--versions", mapPath, "-o", out)
			time.Sleep(300 * time.Millisecond)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			p := wait(t, cmd, stderr, time.Now(), 5*time.Second)
			if p.code != 130 {
				t.Errorf("exit %d, want 130; stderr %s", p.code, p.stderr)
			}
			if p.elapsed > time.Second {
				t.Errorf("stopped %v after the signal, want under a second", p.elapsed)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s written: %v", out, err)
			}
		})
	}
}
