package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func statsJSON(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, m, stderr := runStats(t, args...)
	if code != 0 {
		t.Fatalf("stats %v: exit %d: %s", args, code, stderr)
	}
	return m
}

func num(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		t.Fatalf("%q missing or not a number in %v", key, m)
	}
	return v
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(b), 1e-300) }

// Expected values from R: see stats/testdata/ref_prop.out for the calls.
func TestStatsPropCLI(t *testing.T) {
	dir := t.TempDir()
	m := statsJSON(t, "binom", "--successes", "7", "--trials", "20")
	if !near(num(t, m, "p_value"), 0.26317596435546875) || !near(num(t, m, "lower"), 0.15390920478454115) || !near(num(t, m, "upper"), 0.59218853453282816) {
		t.Errorf("binom: %v (R binom.test(7, 20))", m)
	}
	m = statsJSON(t, "binom", "--successes", "15", "--trials", "20", "--p", "0.3", "--alternative", "greater")
	if !near(num(t, m, "p_value"), 4.2940021953591667e-05) || num(t, m, "upper") != 1 {
		t.Errorf("binom greater: %v", m)
	}
	m = statsJSON(t, "wilson", "--successes", "3", "--trials", "20")
	if !near(num(t, m, "lower"), 0.052368745896216609) || !near(num(t, m, "upper"), 0.36041886474075691) {
		t.Errorf("wilson: %v (R prop.test(3, 20, correct = FALSE))", m)
	}
	// Labels for the 2x2 table (5, 1 / 2, 8) of the reference rows.
	a := writeFile(t, dir, "a.txt", strings.Repeat("x\n", 5)+"y\n")
	b := writeFile(t, dir, "b.txt", strings.Repeat("x\n", 2)+strings.Repeat("y\n", 8))
	m = statsJSON(t, "chisq", "--a", a, "--b", b)
	if !near(num(t, m, "statistic"), 6.1121693121693124) || num(t, m, "df") != 1 || math.Abs(num(t, m, "p_value")-0.013425424881491258) > 1e-6*0.0134 {
		t.Errorf("chisq: %v", m)
	}
	m = statsJSON(t, "gtest", "--a", a, "--b", b)
	if !near(num(t, m, "statistic"), 6.5152716556872505) {
		t.Errorf("gtest: %v", m)
	}
	m1 := statsJSON(t, "chisq", "--a", a, "--b", b, "--draws", "2000", "--seed", "9")
	m2 := statsJSON(t, "chisq", "--a", a, "--b", b, "--draws", "2000", "--seed", "9")
	if num(t, m1, "p_value") != num(t, m2, "p_value") || num(t, m1, "draws") != 2000 {
		t.Errorf("Monte-Carlo p-value not repeatable for a seed: %v %v", m1, m2)
	}
	m = statsJSON(t, "fisher", "--a", a, "--b", b)
	// fisher.test(matrix(c(5, 1, 2, 8), 2, byrow = TRUE))$p.value
	if !near(num(t, m, "p_value"), 0.034965034965034968) {
		t.Errorf("fisher: %v", m)
	}
	// McNemar: b = 10 (1,0), c = 3 (0,1), 20 (1,1), 15 (0,0).
	var xa, xb strings.Builder
	for _, p := range []struct{ n, a, b int }{{10, 1, 0}, {3, 0, 1}, {20, 1, 1}, {15, 0, 0}} {
		for range p.n {
			xa.WriteString(itoa(p.a) + "\n")
			xb.WriteString(itoa(p.b) + "\n")
		}
	}
	pa, pb := writeFile(t, dir, "pa.txt", xa.String()), writeFile(t, dir, "pb.txt", xb.String())
	m = statsJSON(t, "mcnemar", "--a", pa, "--b", pb)
	if !near(num(t, m, "statistic"), 2.7692307692307692) {
		t.Errorf("mcnemar: %v", m)
	}
	m = statsJSON(t, "mcnemar", "--a", pa, "--b", pb, "--method", "exact")
	if !near(num(t, m, "p_value"), 0.092285156250000028) {
		t.Errorf("mcnemar exact: %v", m)
	}
	pf := writeFile(t, dir, "p.txt", "0.01\n0.04\n0.03\n0.005\n0.5\n")
	m = statsJSON(t, "bh", "--p-values", pf)
	adj, _ := m["adjusted"].([]any)
	want := []float64{0.025, 0.05, 0.05, 0.025, 0.5}
	if len(adj) != len(want) {
		t.Fatalf("bh: %v", m)
	}
	for i := range want {
		if !near(adj[i].(float64), want[i]) {
			t.Errorf("bh[%d] = %v, want %v (R p.adjust)", i, adj[i], want[i])
		}
	}
	m = statsJSON(t, "holm", "--p-values", pf)
	if adj, _ := m["adjusted"].([]any); len(adj) != 5 || !near(adj[1].(float64), 0.09) {
		t.Errorf("holm: %v", m)
	}
	m = statsJSON(t, "power", "--test", "two-proportions", "--p1", "0.5", "--p2", "0.75", "--power", "0.9")
	if math.Abs(num(t, m, "n")-76.706928451777443) > 1e-6 {
		t.Errorf("power: %v (R power.prop.test(p1 = .5, p2 = .75, power = .9))", m)
	}
	m = statsJSON(t, "power", "--test", "zero-failure", "--epsilon", "0.01", "--alpha", "0.05")
	if num(t, m, "n") != 299 {
		t.Errorf("zero-failure: %v", m)
	}
	m = statsJSON(t, "tost-prop", "--successes", "85", "--trials", "100", "--p0", "0.85", "--margin", "0.1")
	if !near(num(t, m, "p_value"), 0.011083267507460186) {
		t.Errorf("tost-prop: %v", m)
	}
	ta := writeFile(t, dir, "ta.txt", "5.1\n4.9\n5.3\n5.0\n5.2\n4.8\n5.1\n5.0\n")
	tb := writeFile(t, dir, "tb.txt", "5.0\n5.2\n5.1\n4.9\n5.3\n5.0\n5.2\n4.9\n5.1\n")
	m = statsJSON(t, "tost-mean", "--a", ta, "--b", tb, "--margin", "0.3")
	if !near(num(t, m, "p_value"), 0.0011545714545167626) {
		t.Errorf("tost-mean: %v", m)
	}
	ones := writeFile(t, dir, "ones.txt", strings.Repeat("1\n", 300))
	m = statsJSON(t, "sprt", "--p0", "0.99", "--p1", "0.9", "--a", ones)
	if m["decision"] != "accept H0" || num(t, m, "n") >= 300 {
		t.Errorf("sprt: %v", m)
	}
	m = statsJSON(t, "wilson", "--successes", "427", "--trials", "500", "--alternative", "less")
	// prop.test(427, 500, conf.level = 0.95, alternative = "less", correct = FALSE)$conf.int
	if num(t, m, "lower") != 0 || !near(num(t, m, "upper"), 0.8780692859393211) {
		t.Errorf("wilson less: %v", m)
	}
	// Fisher on a 2x3 table from labels: fisher.test(matrix(c(3, 1, 0, 2, 4, 3), nrow = 2, byrow = TRUE))
	fa := writeFile(t, dir, "fa.txt", "u\nu\nu\nv\n")
	fb := writeFile(t, dir, "fb.txt", "u\nu\nv\nv\nv\nv\nw\nw\nw\n")
	m = statsJSON(t, "fisher", "--a", fa, "--b", fb)
	if !near(num(t, m, "p_value"), 0.33566433566433518) || m["method"] == "" {
		t.Errorf("fisher 2x3: %v", m)
	}
	m = statsJSON(t, "mcnemar", "--a", pa, "--b", pb, "--method", "midp")
	if !near(num(t, m, "p_value"), 0.057373046875000042) {
		t.Errorf("mcnemar mid-p: %v", m)
	}
	m = statsJSON(t, "by", "--p-values", pf)
	if adj, _ := m["adjusted"].([]any); len(adj) != 5 || !near(adj[0].(float64), 0.057083333333333333) || m["method"] == nil {
		t.Errorf("by: %v (R p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), \"BY\"))", m)
	}
	// power.prop.test(n = 50, p1 = 0.5, p2 = 0.75, sig.level = 0.05)$power
	m = statsJSON(t, "power", "--test", "two-proportions", "--p1", "0.5", "--p2", "0.75", "--n", "50")
	if math.Abs(num(t, m, "power")-0.74016590133138793) > 1e-6 || m["method"] == nil {
		t.Errorf("power with --n: %v", m)
	}
	m = statsJSON(t, "binom", "--successes", "3", "--trials", "1000")
	if !near(num(t, m, "p_value"), 3.1108943014033286e-293) {
		t.Errorf("binom far tail: %v (R binom.test(3, 1000))", m)
	}
	m = statsJSON(t, "cs", "--successes", "30", "--trials", "100")
	if !(num(t, m, "lower") < 0.3 && num(t, m, "upper") > 0.3) {
		t.Errorf("cs: %v", m)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestStatsPropCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.txt", "1\nfoo\n")
	labels := writeFile(t, dir, "l.txt", "a\nb\n")
	cases := [][]string{
		{"binom", "--trials", "10"},
		{"binom", "--successes", "11", "--trials", "10"},
		{"binom", "--successes", "1", "--trials", "10", "--p", "2"},
		{"binom", "--successes", "1", "--trials", "10", "--alternative", "sideways"},
		{"wilson", "--successes", "1", "--trials", "10", "--conf", "1.5"},
		{"chisq", "--a", labels},
		{"chisq", "--a", labels, "--b", filepath.Join(dir, "missing.txt")},
		{"mcnemar", "--a", bad, "--b", bad},
		{"mcnemar", "--a", labels, "--b", labels, "--method", "magic"},
		{"bh", "--p-values", bad},
		{"power", "--test", "two-proportions", "--p1", "0.5", "--p2", "0.5", "--power", "0.8"},
		{"power", "--test", "psychic"},
		{"sprt", "--p0", "0.5", "--p1", "0.5", "--a", labels},
		{"tost-mean", "--a", labels, "--b", labels, "--margin", "1"},
		{"binom", "--bogus"},
		{"binom", "--successes", "1", "--trials", "10", "extra"},
		{"chisq", "--a", labels, "--b", labels, "--draws", "-5"},
		{"fisher", "--a", labels},
		{"sprt", "--p0", "0.99", "--p1", "0.9", "--a", writeFile(t, dir, "s.txt", "1\n1\n2\n")},
		{"sprt", "--p0", "0.99", "--p1", "0.9", "--a", bad},
		{"tost-prop", "--successes", "3", "--trials", "10", "--margin", "0"},
		{"power", "--test", "mcnemar", "--p10", "0.1", "--p01", "0.2"},
		{"power", "--test", "one-proportion", "--p0", "0.5", "--p1", "0.6", "--n", "-3"},
		{"cs", "--successes", "5", "--trials", "4"},
		{"holm", "--p-values", writeFile(t, dir, "p2.txt", "0.5\n1.5\n")},
	}
	for _, c := range cases {
		r := cli(t, "", append([]string{"stats"}, c...)...)
		if r.code != 2 || r.err == "" || r.out != "" {
			t.Errorf("stats %v: exit %d, stdout %q, stderr %q; want exit 2 with a message", c, r.code, r.out, r.err)
		}
	}
}
