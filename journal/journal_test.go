package journal

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

type entry struct {
	N int    `json:"n"`
	S string `json:"s,omitempty"`
}

func readAll(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJournalAppendResume: entries appended are read back by Open, which
// appends after them.
func TestJournalAppendResume(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, err := Create[entry](path)
	if err != nil {
		t.Fatal(err)
	}
	j.Append(entry{N: 0})
	j.Write([]byte(`{"n":1}` + "\n"))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Write([]byte("{}\n")); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	j, got, err := Open[entry](path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []entry{{N: 0}, {N: 1}}) {
		t.Fatalf("entries %v", got)
	}
	j.Append(entry{N: 2})
	j.Close()
	if s := readAll(t, path); s != `{"n":0}`+"\n"+`{"n":1}`+"\n"+`{"n":2}`+"\n" {
		t.Fatalf("journal %q", s)
	}
	if err := j.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Remove left the file: %v", err)
	}
	// Open creates a missing journal.
	j, got, err = Open[entry](path)
	if err != nil || len(got) != 0 {
		t.Fatalf("Open of a missing journal: %v %v", got, err)
	}
	j.Close()
}

// TestJournalTornLastLine: a last line cut short by a kill, or a last line
// that does not decode, is truncated away by Open and the next entry starts
// a line of its own; a bad line before the last is skipped and kept.
func TestJournalTornLastLine(t *testing.T) {
	for _, tc := range []struct{ name, in, kept string }{
		{"torn", `{"n":0}` + "\n" + `{"n":1}` + "\n" + `{"n":2,"s":"ab`, `{"n":0}` + "\n" + `{"n":1}` + "\n"},
		{"bad last", `{"n":0}` + "\n" + `{"n":1}` + "\n" + `{"n":` + "\n", `{"n":0}` + "\n" + `{"n":1}` + "\n"},
		{"bad middle", `{"n":0}` + "\n" + "garbage\n" + `{"n":1}` + "\n", `{"n":0}` + "\n" + "garbage\n" + `{"n":1}` + "\n"},
		{"bad middle, torn last", `{"n":0}` + "\n" + `{"n":1}` + "\n" + "garbage\n" + `{"n`, `{"n":0}` + "\n" + `{"n":1}` + "\n" + "garbage\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j.jsonl")
			os.WriteFile(path, []byte(tc.in), 0o644)
			read, err := Read[entry](strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			j, got, err := Open[entry](path)
			if err != nil {
				t.Fatal(err)
			}
			if want := []entry{{N: 0}, {N: 1}}; !slices.Equal(got, want) || !slices.Equal(read, want) {
				t.Fatalf("Open read %v, Read %v; want %v", got, read, want)
			}
			if err := j.Append(entry{N: 9}); err != nil {
				t.Fatal(err)
			}
			j.Close()
			if s := readAll(t, path); s != tc.kept+`{"n":9}`+"\n" {
				t.Fatalf("journal %q, want %q + the new line", s, tc.kept)
			}
		})
	}
}

// TestJournalRefusesSymlink: Create and Open never follow a symlink at the
// journal's path (its target keeps its bytes, a missing one is not made),
// and KeepAside moves the symlink itself away.
func TestJournalRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	os.WriteFile(victim, []byte("keep\n"), 0o644)
	for _, target := range []string{victim, filepath.Join(dir, "absent")} {
		path := filepath.Join(dir, "j-"+filepath.Base(target)+".jsonl")
		os.Symlink(target, path)
		if j, err := Create[entry](path); !errors.Is(err, fs.ErrExist) {
			j.Close()
			t.Errorf("Create over a symlink to %s: %v, want ErrExist", target, err)
		}
		if j, _, err := Open[entry](path); !errors.Is(err, syscall.ELOOP) {
			j.Close()
			t.Errorf("Open of a symlink to %s: %v, want ELOOP", target, err)
		}
		now := time.Date(2026, 11, 22, 12, 0, 0, 5, time.UTC)
		kept, err := KeepAside(path, now)
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSuffix(path, ".jsonl") + ".20261122T120000.000000005Z.jsonl"; kept != want {
			t.Errorf("kept as %s, want %s", kept, want)
		}
		if fi, err := os.Lstat(kept); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			t.Errorf("the kept file is not the symlink: %v", err)
		}
		j, err := Create[entry](path)
		if err != nil {
			t.Fatal(err)
		}
		j.Append(entry{N: 1})
		j.Close()
	}
	if s := readAll(t, victim); s != "keep\n" {
		t.Errorf("the symlink's target was written: %q", s)
	}
	if _, err := os.Lstat(filepath.Join(dir, "absent")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the symlink's target was created: %v", err)
	}
}

// childEnv makes the test binary, run again, the child of
// TestJournalSurvivesKill: it takes the lock and appends entries until it
// is killed.
const childEnv = "REPRISE_JOURNAL_TEST_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childEnv); dir != "" {
		l, err := Lock(filepath.Join(dir, ".lock"))
		if err != nil {
			os.Exit(3)
		}
		defer l.Release()
		j, _, err := Open[entry](filepath.Join(dir, "j.jsonl"))
		if err != nil {
			os.Exit(4)
		}
		for n := 0; ; n++ {
			if err := j.Append(entry{N: n, S: strings.Repeat("x", n%500)}); err != nil {
				os.Exit(5)
			}
		}
	}
	os.Exit(m.Run())
}

// TestJournalSurvivesKill: a child killed (SIGKILL) while it appends
// leaves a journal whose entries are 0, 1, … with none lost or repeated
// before the cut; its lock is free again; the journal resumes after them.
func TestJournalSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.jsonl")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 64<<10 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the child never wrote 64 KiB")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := Lock(filepath.Join(dir, ".lock")); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "PID ") {
		t.Errorf("the child's lock: %v", err)
	}
	cmd.Process.Kill() // SIGKILL: no cleanup runs
	cmd.Wait()
	l, err := Lock(filepath.Join(dir, ".lock"))
	if err != nil {
		t.Fatalf("the lock of a killed holder: %v", err)
	}
	defer l.Release()
	j, got, err := Open[entry](path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no entries")
	}
	for i, e := range got {
		if e.N != i {
			t.Fatalf("entry %d is %d", i, e.N)
		}
	}
	n := len(got)
	j.Append(entry{N: n})
	j.Close()
	j, got, err = Open[entry](path)
	if err != nil || len(got) != n+1 || got[n].N != n {
		t.Fatalf("after resuming: %d entries, %v", len(got), err)
	}
	j.Close()
}

// TestWriteAtomic: the file is replaced whole with mode 0644; a failed
// write leaves the old file and no temporary file.
func TestWriteAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := WriteAtomic(path, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(path, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 || readAll(t, path) != "two" {
		t.Fatalf("%v %v", fi.Mode(), err)
	}
	// A rename over a non-empty directory fails after the temporary file
	// is written.
	sub := filepath.Join(dir, "sub")
	os.MkdirAll(filepath.Join(sub, "inside"), 0o755)
	if err := WriteAtomic(sub, []byte("x")); err == nil {
		t.Fatal("WriteAtomic over a directory succeeded")
	}
	es, _ := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"f", "sub"}) {
		t.Fatalf("left in the directory: %v", names)
	}
	if err := WriteAtomic(filepath.Join(dir, "absent", "f"), []byte("x")); err == nil {
		t.Fatal("WriteAtomic into a missing directory succeeded")
	}
}
