package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// writeSample writes lines to a file in dir and returns its path.
func writeSample(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	return writeFile(t, dir, name, strings.Join(lines, "\n")+"\n")
}

// runStats runs `reprise stats args...` and decodes stdout as one JSON
// object when the exit code is 0.
func runStats(t *testing.T, args ...string) (int, map[string]any, string) {
	t.Helper()
	r := cli(t, "", append([]string{"stats"}, args...)...)
	var v map[string]any
	if r.code == 0 {
		if err := json.Unmarshal([]byte(r.out), &v); err != nil {
			t.Fatalf("stats %v: stdout is not one JSON object: %v\n%s", args, err, r.out)
		}
	}
	return r.code, v, r.err
}

func TestStatsSampleCommands(t *testing.T) {
	dir := t.TempDir()
	// ks.test(c(0.61, 1.2, -0.3), c(2.1, 3.3, 1.9, 2.8), exact = TRUE): D = 1, p = 4/70.
	ka := writeSample(t, dir, "ka", "# sample a", "0.61", "1.2", "", "-0.3")
	kb := writeSample(t, dir, "kb", "2.1", "3.3", "1.9", "2.8")
	// wilcox.test(c(1.83, 0.5, 1.62, 2.48, 1.68), c(0.88, 0.65, 0.6, 2.05, 1.06, 1.29, 1.07)):
	// W = 25, p = 0.26767676767676774 (R 4.2.2).
	ma := writeSample(t, dir, "ma", "1.83", "0.5", "1.62", "2.48", "1.68")
	mb := writeSample(t, dir, "mb", "0.88", "0.65", "0.6", "2.05", "1.06", "1.29", "1.07")
	// wilcox.test(pa, pb, paired = TRUE): V = 33, p = 0.039062500000000014 (R 4.2.2).
	pa := writeSample(t, dir, "pa", "1.83", "0.5", "1.62", "2.48", "1.68", "1.88", "1.55", "3.06")
	pb := writeSample(t, dir, "pb", "0.878", "0.647", "0.598", "2.05", "1.06", "1.29", "1.063", "3.14")
	va := writeSample(t, dir, "va", "0,0", "0.1,0.2", "-0.3,0.1", "0.2,-0.1", "0,0.3", "-0.2,-0.2")
	vb := writeSample(t, dir, "vb", "3,3", "3.1,2.9", "2.8,3.2", "3.3,3", "2.9,2.7", "3,3.1")
	sa := writeSample(t, dir, "sa", "hello world", "hello there", "help me", "hello you", "yellow")
	sb := writeSample(t, dir, "sb", "zzzz qqq", "qqq zzzz", "zq zq zq", "qqqq", "zzzzzz")

	for _, c := range []struct {
		name string
		args []string
		want map[string]float64
	}{
		{"ks", []string{"ks", "--a", ka, "--b", kb}, map[string]float64{"statistic": 1, "p_value": 4.0 / 70}},
		{"ks asymptotic", []string{"ks", "--a", ka, "--b", kb, "--method", "asymptotic"}, map[string]float64{"statistic": 1}},
		{"mwu", []string{"mwu", "--a", ma, "--b", mb}, map[string]float64{"statistic": 25, "p_value": 0.26767676767676774}},
		{"mwu greater", []string{"mwu", "--a", ma, "--b", mb, "--alternative", "greater"}, map[string]float64{"statistic": 25, "p_value": 0.13383838383838387}},
		{"wilcoxon", []string{"wilcoxon", "--a", pa, "--b", pb, "--method", "exact"}, map[string]float64{"statistic": 33, "p_value": 0.039062500000000014}},
		{"ad", []string{"ad", "--samples", ka + "," + kb + "," + ma, "--draws", "499", "--seed", "3"}, nil},
		{"ad interpolated", []string{"ad", "--samples", ka + "," + kb, "--draws", "0"}, nil},
		{"energy vectors", []string{"energy", "--a", va, "--b", vb, "--draws", "499"}, nil},
		{"mmd numbers", []string{"mmd", "--a", ma, "--b", mb, "--draws", "199"}, nil},
		{"mmd hamming", []string{"mmd", "--a", sa, "--b", sb, "--kernel", "hamming", "--draws", "199"}, nil},
		{"energy spectrum", []string{"energy", "--a", sa, "--b", sb, "--kernel", "spectrum", "--ngram", "2", "--draws", "499"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, v, stderr := runStats(t, c.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, k := range []string{"statistic", "p_value", "method"} {
				if _, ok := v[k]; !ok {
					t.Errorf("output lacks %q: %v", k, v)
				}
			}
			if p, _ := v["p_value"].(float64); p <= 0 || p > 1 {
				t.Errorf("p_value %v outside (0,1]", v["p_value"])
			}
			// The permutation tests on clearly separated samples reject.
			if p, _ := v["p_value"].(float64); strings.HasPrefix(c.name, "energy") && p > 0.02 {
				t.Errorf("p_value %v for separated samples", p)
			}
			for k, want := range c.want {
				if got, _ := v[k].(float64); math.Abs(got-want) > 1e-12*math.Abs(want) {
					t.Errorf("%s = %v, want %v", k, v[k], want)
				}
			}
		})
	}

	// The same seed gives the same answer.
	_, v1, _ := runStats(t, "mmd", "--a", va, "--b", vb, "--draws", "99", "--seed", "9")
	_, v2, _ := runStats(t, "mmd", "--a", va, "--b", vb, "--draws", "99", "--seed", "9")
	if v1["p_value"] != v2["p_value"] || v1["statistic"] != v2["statistic"] {
		t.Errorf("same seed, different answers: %v vs %v", v1, v2)
	}

	code, v, stderr := runStats(t, "bootstrap", "--a", pa, "--b", pb, "--method", "percentile", "--draws", "2000", "--seed", "5", "--conf", "0.9")
	if code != 0 {
		t.Fatalf("bootstrap: exit %d: %s", code, stderr)
	}
	lo, _ := v["lower"].(float64)
	hi, _ := v["upper"].(float64)
	est, _ := v["estimate"].(float64)
	if !(lo < est && est < hi) || math.Abs(est-0.48425) > 1e-12 || v["method"] == nil {
		t.Errorf("bootstrap: %v", v)
	}
}

func TestStatsSampleCommandErrors(t *testing.T) {
	dir := t.TempDir()
	a := writeSample(t, dir, "a", "1", "2", "3")
	b := writeSample(t, dir, "b", "4", "5")
	bad := writeSample(t, dir, "bad", "1", "two", "3")
	nan := writeSample(t, dir, "nan", "1", "NaN")
	empty := writeSample(t, dir, "empty", "# nothing")
	same := writeSample(t, dir, "same", "1", "2", "3")
	ragged := writeSample(t, dir, "ragged", "1,2", "3")
	for _, args := range [][]string{
		{"ks", "--a", a},
		{"ks", "--a", a, "--b", filepath.Join(dir, "missing")},
		{"ks", "--a", a, "--b", bad},
		{"ks", "--a", a, "--b", nan},
		{"ks", "--a", a, "--b", empty},
		{"ks", "--a", a, "--b", b, "--method", "magic"},
		{"ks", "--a", a, "--b", b, "--alternative", "sideways"},
		{"ks", "--a", a, "--b", b, "--bogus"},
		{"ks", "--a", a, "--b", b, "extra"},
		{"mwu", "--a", a, "--b", b, "--method", "magic"},
		{"wilcoxon", "--a", a, "--b", b},
		{"wilcoxon", "--a", a, "--b", same}, // all differences zero
		{"ad", "--samples", a},
		{"ad", "--samples", a + "," + b, "--draws", "-1"},
		{"energy", "--a", a, "--b", b, "--kernel", "linear"},
		{"energy", "--a", a, "--b", b, "--draws", "0"},
		{"mmd", "--a", a, "--b", ragged},
		{"mmd", "--a", a, "--b", b, "--kernel", "spectrum", "--ngram", "0"},
		{"bootstrap", "--a", a, "--b", b},
		{"bootstrap", "--a", a, "--b", same, "--conf", "95"},
		{"bootstrap", "--a", a, "--b", same, "--method", "studentized"},
		{"bootstrap", "--a", a, "--b", same, "--draws", "0"},
	} {
		code, _, stderr := runStats(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, "reprise:") {
			t.Errorf("%v: no error message on stderr: %q", args, stderr)
		}
	}
}
