package statsfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReadNumbersStreaming: values, skipped lines and the file:line of a bad
// value, read while scanning.
func TestReadNumbersStreaming(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	os.WriteFile(good, []byte("# header\n1.5\n\n  -2e3  \n# note\n7\n"), 0o644)
	got, err := ReadNumbers(good)
	if err != nil || len(got) != 3 || got[0] != 1.5 || got[1] != -2000 || got[2] != 7 {
		t.Errorf("ReadNumbers = %v, %v", got, err)
	}
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("1\n2\n\nNaN\n"), 0o644)
	if _, err := ReadNumbers(bad); err == nil || !strings.Contains(err.Error(), bad+":4:") {
		t.Errorf("bad value: %v, want %s:4", err, bad)
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n\n"), 0o644)
	if _, err := ReadNumbers(empty); err == nil || !strings.Contains(err.Error(), "no values") {
		t.Errorf("empty: %v", err)
	}
	long := filepath.Join(dir, "long.txt")
	var b strings.Builder
	for i := range 3*chunkLen + 5 {
		b.WriteString(strconv.Itoa(i) + "\n")
	}
	os.WriteFile(long, []byte(b.String()), 0o644)
	got, err = ReadNumbers(long)
	if err != nil || len(got) != 3*chunkLen+5 || got[chunkLen] != chunkLen || got[len(got)-1] != 3*chunkLen+4 {
		t.Errorf("long file: %d values, %v", len(got), err)
	}
}

// BenchmarkReadNumbers reads a file of 10^6 numbers (about 19.6 MB, as
// repr(random.gauss(0, 1)) lines).
//
// Anchors (this 2-core machine, /usr/bin/time): `python3 -c "import numpy;
// numpy.loadtxt(one such file)"` takes 0.37 s as a whole process; SciPy's
// whole `loadtxt ×2; ks_2samp` 1.9–2.1 s and 167 MB (SciPy 1.10.1). The whole
// `reprise stats ks` on two such files took 1.4–1.8 s and 124–168 MB peak
// RSS before the streaming reader, 0.5–0.7 s and 49–64 MB after.
func BenchmarkReadNumbers(b *testing.B) {
	path := filepath.Join(b.TempDir(), "a.txt")
	var sb strings.Builder
	x := uint64(1)
	for range 1000000 {
		x = x*6364136223846793005 + 1442695040888963407
		sb.WriteString(strconv.FormatFloat(float64(int64(x>>11))/float64(1<<52)-1, 'g', -1, 64) + "\n")
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := ReadNumbers(path); err != nil {
			b.Fatal(err)
		}
	}
}

// TestReadRows: vectors and tables of counts, and the ErrInput of a bad
// row naming its file and line.
func TestReadRows(t *testing.T) {
	write := func(name, text string) string { return writeSample(t, name, text) }
	v, err := ReadVectors(write("v.txt", "1, 2\n# c\n3,4\n"))
	if err != nil || len(v) != 2 || v[1][0] != 3 || v[1][1] != 4 {
		t.Errorf("ReadVectors = %v, %v", v, err)
	}
	tab, err := ReadCountTable(write("t.txt", "1 2 3\n4\t5 6\n"))
	if err != nil || len(tab) != 2 || tab[1][2] != 6 {
		t.Errorf("ReadCountTable = %v, %v", tab, err)
	}
	for _, c := range []struct {
		name string
		read func(string) error
		text string
		want string
	}{
		{"ragged vectors", readVectors, "1,2\n3\n", ":2: vector of dimension 1, earlier lines have 2"},
		{"ragged table", readCountTable, "1 2\n3 4 5\n", ":2: row of 3 counts, earlier rows have 2"},
		{"not a count", readCountTable, "1 2.5\n", `:1: "2.5" is not a count`},
		{"negative count", readCountTable, "1 -2\n", `:1: "-2" is not a count`},
		{"not a number", readVectors, "1,x\n", `:1: "x" is not a finite number`},
		{"no values", readVectors, "# none\n", ": no values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := write(strings.ReplaceAll(c.name, " ", "-"), c.text)
			err := c.read(path)
			if !errors.Is(err, ErrInput) || err.Error() != path+c.want {
				t.Errorf("error %v, want ErrInput %q", err, path+c.want)
			}
		})
	}
	if _, err := ReadLabels(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrInput) {
		t.Errorf("missing file: %v, want ErrInput", err)
	}
}

// writeSample writes text to a file name in a new temporary folder and
// returns its path.
func writeSample(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readVectors(path string) error    { _, err := ReadVectors(path); return err }
func readCountTable(path string) error { _, err := ReadCountTable(path); return err }
