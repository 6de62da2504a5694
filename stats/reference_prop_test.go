package stats

import (
	"math"
	"testing"
)

// Reference values for the proportion, table, paired 0/1, multiple-testing,
// power and TOST tests, computed with R 4.2 by testdata/ref_prop.R (its
// output is testdata/ref_prop.out). Each row names the R call.

// relClose reports |got − want| ≤ tol·|want| (or ≤ tol when want is 0).
func relClose(got, want, tol float64) bool {
	if want == 0 {
		return math.Abs(got) <= tol
	}
	return math.Abs(got-want) <= tol*math.Abs(want)
}

const (
	tolExact = 1e-9 // exact methods
	tolAsym  = 1e-6 // asymptotic methods
)

func TestBinomReference(t *testing.T) {
	cases := []struct {
		k, n             int
		p                float64
		alt              string
		conf             float64
		pv, lower, upper float64
		call             string
	}{
		{7, 20, 0.5, "two.sided", 0.94999999999999996, 0.26317596435546875, 0.15390920478454115, 0.59218853453282816, "binom.test(7, 20, p = 0.5, alternative = \"two.sided\", conf.level = 0.95)"},
		{0, 10, 0.5, "two.sided", 0.94999999999999996, 0.0019531250000000004, 0, 0.30849710781876083, "binom.test(0, 10, p = 0.5, alternative = \"two.sided\", conf.level = 0.95)"},
		{10, 10, 0.5, "two.sided", 0.94999999999999996, 0.0019531250000000004, 0.69150289218123917, 1, "binom.test(10, 10, p = 0.5, alternative = \"two.sided\", conf.level = 0.95)"},
		{3, 1000, 0.5, "two.sided", 0.94999999999999996, 3.1108943014033286e-293, 0.00061909993164957196, 0.0087420232384782803, "binom.test(3, 1000, p = 0.5, alternative = \"two.sided\", conf.level = 0.95)"},
		{682, 925, 0.75, "two.sided", 0.94999999999999996, 0.38249155957485192, 0.70766826407903904, 0.76540655824152526, "binom.test(682, 925, p = 0.75, alternative = \"two.sided\", conf.level = 0.95)"},
		{1, 50, 0.01, "two.sided", 0.94999999999999996, 0.39499393286246365, 0.00050622798304082934, 0.10646954571149991, "binom.test(1, 50, p = 0.01, alternative = \"two.sided\", conf.level = 0.95)"},
		{15, 20, 0.29999999999999999, "greater", 0.94999999999999996, 4.2940021953591667e-05, 0.54441759599825124, 1, "binom.test(15, 20, p = 0.3, alternative = \"greater\", conf.level = 0.95)"},
		{2, 30, 0.20000000000000001, "less", 0.94999999999999996, 0.044178985151996968, 0, 0.1953260436549259, "binom.test(2, 30, p = 0.2, alternative = \"less\", conf.level = 0.95)"},
		{427, 500, 0.5, "two.sided", 0.98999999999999999, 6.9135126335586094e-62, 0.80894721484152377, 0.89212662180347135, "binom.test(427, 500, p = 0.5, alternative = \"two.sided\", conf.level = 0.99)"},
		{5, 6, 0.90000000000000002, "two.sided", 0.94999999999999996, 0.46855899999999989, 0.35876542100232522, 0.99578925548551056, "binom.test(5, 6, p = 0.9, alternative = \"two.sided\", conf.level = 0.95)"},
		{60, 100, 0.52000000000000002, "two.sided", 0.90000000000000002, 0.1328962194639898, 0.51297582025389432, 0.68247398476350041, "binom.test(60, 100, p = 0.52, alternative = \"two.sided\", conf.level = 0.9)"},
		{1, 2000, 0.050000000000000003, "two.sided", 0.94999999999999996, 7.4129000947929872e-43, 1.2658823868557902e-05, 0.0027826398346589474, "binom.test(1, 2000, p = 0.05, alternative = \"two.sided\", conf.level = 0.95)"},
		{0, 5000, 0.01, "two.sided", 0.94999999999999996, 2.4442335778343526e-22, 0, 0.0007375038011081049, "binom.test(0, 5000, p = 0.01, alternative = \"two.sided\", conf.level = 0.95)"},
		{2, 100000, 0.001, "two.sided", 0.94999999999999996, 3.1920487514290265e-40, 2.422101962703157e-06, 7.224498936504789e-05, "binom.test(2, 1e+05, p = 0.001, alternative = \"two.sided\", conf.level = 0.95)"},
		{50, 100, 0.5, "two.sided", 0.94999999999999996, 1, 0.39832112950330101, 0.60167887049669899, "binom.test(50, 100, p = 0.5, alternative = \"two.sided\", conf.level = 0.95)"},
		{0, 1, 0.5, "two.sided", 0.94999999999999996, 1, 0, 0.97499999999999998, "binom.test(0, 1, p = 0.5, alternative = \"two.sided\", conf.level = 0.95)"},
		{998, 1000, 0.90000000000000002, "greater", 0.98999999999999999, 1.0974495173732782e-42, 0.99162093173525789, 1, "binom.test(998, 1000, p = 0.9, alternative = \"greater\", conf.level = 0.99)"},
		{40, 41, 0.999, "less", 0.90000000000000002, 0.040190559474924045, 0, 0.99743353035442039, "binom.test(40, 41, p = 0.999, alternative = \"less\", conf.level = 0.9)"},
	}
	for _, c := range cases {
		alt, err := ParseAlternative(c.alt)
		if err != nil {
			t.Fatal(err)
		}
		r, err := BinomTest(c.k, c.n, c.p, alt, c.conf)
		if err != nil {
			t.Fatalf("%s: %v", c.call, err)
		}
		if !relClose(r.PValue, c.pv, tolExact) || !relClose(r.Lower, c.lower, tolExact) || !relClose(r.Upper, c.upper, tolExact) {
			t.Errorf("%s: p %.17g [%.17g, %.17g], R p %.17g [%.17g, %.17g]", c.call, r.PValue, r.Lower, r.Upper, c.pv, c.lower, c.upper)
		}
	}
}

func TestWilsonReference(t *testing.T) {
	cases := []struct {
		k, n         int
		conf         float64
		lower, upper float64
		call         string
	}{
		{427, 500, 0.94999999999999996, 0.82035073377969026, 0.88225123317353071, "prop.test(427, 500, conf.level = 0.95, correct = FALSE)$conf.int"},
		{0, 500, 0.94999999999999996, 0, 0.0076243404615522377, "prop.test(0, 500, conf.level = 0.95, correct = FALSE)$conf.int"},
		{3, 20, 0.94999999999999996, 0.052368745896216609, 0.36041886474075691, "prop.test(3, 20, conf.level = 0.95, correct = FALSE)$conf.int"},
		{20, 20, 0.98999999999999999, 0.75089459890124655, 1, "prop.test(20, 20, conf.level = 0.99, correct = FALSE)$conf.int"},
		{1, 3, 0.90000000000000002, 0.078265726333728428, 0.74646613171877574, "prop.test(1, 3, conf.level = 0.9, correct = FALSE)$conf.int"},
	}
	for _, c := range cases {
		lo, hi, err := Wilson(c.k, c.n, c.conf, TwoSided)
		if err != nil || !relClose(lo, c.lower, tolExact) || !relClose(hi, c.upper, tolExact) {
			t.Errorf("%s: [%.17g, %.17g] %v, R [%.17g, %.17g]", c.call, lo, hi, err, c.lower, c.upper)
		}
	}
}

func TestWilsonOneSidedReference(t *testing.T) {
	cases := []struct {
		k, n         int
		conf         float64
		alt          string
		lower, upper float64
		call         string
	}{
		{427, 500, 0.94999999999999996, "less", 0, 0.8780692859393211, "prop.test(427, 500, conf.level = 0.95, alternative = \"less\", correct = FALSE)$conf.int"},
		{3, 20, 0.90000000000000002, "greater", 0.074673019753226724, 1, "prop.test(3, 20, conf.level = 0.9, alternative = \"greater\", correct = FALSE)$conf.int"},
		{0, 40, 0.94999999999999996, "less", 0, 0.063353448645458041, "prop.test(0, 40, conf.level = 0.95, alternative = \"less\", correct = FALSE)$conf.int"},
		{40, 40, 0.94999999999999996, "greater", 0.936646551354542, 1, "prop.test(40, 40, conf.level = 0.95, alternative = \"greater\", correct = FALSE)$conf.int"},
	}
	for _, c := range cases {
		alt, err := ParseAlternative(c.alt)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, err := Wilson(c.k, c.n, c.conf, alt)
		if err != nil || !relClose(lo, c.lower, tolExact) || !relClose(hi, c.upper, tolExact) {
			t.Errorf("%s: [%.17g, %.17g] %v, R [%.17g, %.17g]", c.call, lo, hi, err, c.lower, c.upper)
		}
	}
}

func table2(cells []float64, rows int) [][]float64 {
	c := len(cells) / rows
	t := make([][]float64, rows)
	for i := range t {
		t[i] = cells[i*c : (i+1)*c]
	}
	return t
}

func TestChiSquareGReference(t *testing.T) {
	cases := []struct {
		cells       []float64
		chi         float64
		df          int
		pChi, g, pG float64
		call        string
	}{
		{[]float64{30, 20, 10, 25, 25, 10}, 1.0101010101010102, 2, 0.60347509611715955, 1.0118779857975149, 0.60293915395184361, "chisq.test(matrix(c(30, 20, 10, 25, 25, 10), nrow = 2, byrow = TRUE), correct = FALSE); G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"},
		{[]float64{5, 1, 2, 8}, 6.1121693121693124, 1, 0.013425424881491258, 6.5152716556872505, 0.010695198302387413, "chisq.test(matrix(c(5, 1, 2, 8), nrow = 2, byrow = TRUE), correct = FALSE); G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"},
		{[]float64{90, 10, 0, 60, 30, 10}, 26, 2, 2.2603294069810542e-06, 30.368560551696522, 2.5441977518697644e-07, "chisq.test(matrix(c(90, 10, 0, 60, 30, 10), nrow = 2, byrow = TRUE), correct = FALSE); G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"},
		{[]float64{1000, 0, 500, 500}, 666.66666666666663, 1, 5.3028503746269418e-147, 863.04621735534261, 1.0600256166106982e-189, "chisq.test(matrix(c(1000, 0, 500, 500), nrow = 2, byrow = TRUE), correct = FALSE); G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"},
		{[]float64{12, 7, 3, 1, 9, 10, 4, 6}, 4.0336638403487335, 3, 0.25785191287082959, 4.3741625899918821, 0.22379310603025088, "chisq.test(matrix(c(12, 7, 3, 1, 9, 10, 4, 6), nrow = 2, byrow = TRUE), correct = FALSE); G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"},
		{[]float64{300, 100, 50, 30, 20, 100, 200, 100, 60, 40}, 166.66666666666666, 4, 5.429907623300852e-35, 172.60924347106848, 2.8801575990354057e-36, "chisq.test(matrix(c(300, 100, 50, 30, 20, 100, 200, 100, 60, 40), nrow = 2, byrow = TRUE), correct = FALSE); G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"},
		{[]float64{1, 0, 0, 1}, 2, 1, 0.15729920705028447, 2.7725887222397811, 0.095890967142465477, "chisq.test(matrix(c(1, 0, 0, 1), nrow = 2, byrow = TRUE), correct = FALSE); G = 2*sum(O*log(O/E)), pchisq(G, df, lower.tail = FALSE)"},
	}
	for _, c := range cases {
		r, err := ChiSquareTable(table2(c.cells, 2), 0, nil)
		if err != nil || r.DF != c.df || !relClose(r.Statistic, c.chi, tolExact) || !relClose(r.PValue, c.pChi, tolAsym) {
			t.Errorf("%s: X2 %.17g df %d p %.17g %v; R %.17g %d %.17g", c.call, r.Statistic, r.DF, r.PValue, err, c.chi, c.df, c.pChi)
		}
		g, err := GTestTable(table2(c.cells, 2), 0, nil)
		if err != nil || !relClose(g.Statistic, c.g, tolExact) || !relClose(g.PValue, c.pG, tolAsym) {
			t.Errorf("%s: G %.17g p %.17g %v; R %.17g %.17g", c.call, g.Statistic, g.PValue, err, c.g, c.pG)
		}
	}
}

func TestFisherReference(t *testing.T) {
	cases := []struct {
		cells []float64
		rows  int
		p     float64
		call  string
	}{
		{[]float64{3, 1, 1, 3}, 2, 0.48571428571428582, "fisher.test(matrix(c(3, 1, 1, 3), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{10, 2, 3, 15}, 2, 0.00053672411914343593, "fisher.test(matrix(c(10, 2, 3, 15), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{100, 0, 0, 100}, 2, 2.2087606931994895e-59, "fisher.test(matrix(c(100, 0, 0, 100), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{0, 5, 5, 0}, 2, 0.0079365079365079395, "fisher.test(matrix(c(0, 5, 5, 0), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{1, 9, 11, 3}, 2, 0.0027594561852200836, "fisher.test(matrix(c(1, 9, 11, 3), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{2, 3, 4, 5, 1, 0, 3, 2, 6}, 3, 0.10863870279673173, "fisher.test(matrix(c(2, 3, 4, 5, 1, 0, 3, 2, 6), nrow = 3, byrow = TRUE))$p.value"},
		{[]float64{3, 1, 0, 2, 4, 3}, 2, 0.33566433566433518, "fisher.test(matrix(c(3, 1, 0, 2, 4, 3), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{8, 2, 1, 1, 5, 7}, 2, 0.0039204468972943475, "fisher.test(matrix(c(8, 2, 1, 1, 5, 7), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{12, 0, 2, 0, 12, 2}, 2, 2.9912804175827193e-07, "fisher.test(matrix(c(12, 0, 2, 0, 12, 2), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, 1, "fisher.test(matrix(c(1, 0, 0, 0, 1, 0, 0, 0, 1), nrow = 3, byrow = TRUE))$p.value"},
		{[]float64{5, 0, 3, 1, 0, 4, 2, 6}, 2, 0.0031231925968767745, "fisher.test(matrix(c(5, 0, 3, 1, 0, 4, 2, 6), nrow = 2, byrow = TRUE))$p.value"},
		{[]float64{0, 1, 1, 0}, 2, 1, "fisher.test(matrix(c(0, 1, 1, 0), nrow = 2, byrow = TRUE))$p.value"},
	}
	for _, c := range cases {
		r, err := FisherExact(table2(c.cells, c.rows))
		if err != nil || !relClose(r.PValue, c.p, tolExact) {
			t.Errorf("%s: %.17g %v, R %.17g", c.call, r.PValue, err, c.p)
		}
	}
}

// pairs01 builds paired 0/1 samples with b (1,0), c (0,1), n11 (1,1) and n00 (0,0) pairs.
func pairs01(b, c, n11, n00 int) (x, y []float64) {
	add := func(k int, a, bb float64) {
		for range k {
			x, y = append(x, a), append(y, bb)
		}
	}
	add(b, 1, 0)
	add(c, 0, 1)
	add(n11, 1, 1)
	add(n00, 0, 0)
	return x, y
}

func TestMcNemarReference(t *testing.T) {
	cases := []struct {
		b, c, n11, n00          int
		chi, pChi, pExact, pMid float64
		call                    string
	}{
		{10, 3, 20, 15, 2.7692307692307692, 0.096092329455673087, 0.092285156250000028, 0.057373046875000042, "mcnemar.test(matrix(c(20, 10, 3, 15), 2, byrow = TRUE)); binom.test(10, 13)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
		{25, 5, 40, 30, 12.033333333333333, 0.00052257539512424696, 0.00032491423189640094, 0.00019219517707824761, "mcnemar.test(matrix(c(40, 25, 5, 30), 2, byrow = TRUE)); binom.test(25, 30)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
		{7, 7, 3, 3, 0, 1, 1, 1, "mcnemar.test(matrix(c(3, 7, 7, 3), 2, byrow = TRUE)); binom.test(7, 14)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
		{0, 12, 5, 5, 10.083333333333334, 0.0014961642897455515, 0.00048828125000000011, 0.00024414062499999995, "mcnemar.test(matrix(c(5, 0, 12, 5), 2, byrow = TRUE)); binom.test(0, 12)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
		{1, 30, 100, 100, 25.29032258064516, 4.9317692680783368e-07, 2.9802322387695352e-08, 1.5366822481155462e-08, "mcnemar.test(matrix(c(100, 1, 30, 100), 2, byrow = TRUE)); binom.test(1, 31)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
		{4, 2, 1, 1, 0.16666666666666666, 0.68309139830960874, 0.68749999999999989, 0.45312499999999967, "mcnemar.test(matrix(c(1, 4, 2, 1), 2, byrow = TRUE)); binom.test(4, 6)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
		{0, 60, 10, 10, 58.016666666666666, 2.599063923341197e-14, 1.7347234759768052e-18, 8.6736173798840008e-19, "mcnemar.test(matrix(c(10, 0, 60, 10), 2, byrow = TRUE)); binom.test(0, 60)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
		{1, 0, 0, 0, 0, 1, 1, 0.5, "mcnemar.test(matrix(c(0, 1, 0, 0), 2, byrow = TRUE)); binom.test(1, 1)$p.value; 2*(pbinom(x,n,.5)-dbinom(x,n,.5)/2)"},
	}
	for _, c := range cases {
		x, y := pairs01(c.b, c.c, c.n11, c.n00)
		a, err := McNemar(x, y, McNemarAsymptotic)
		if err != nil || !relClose(a.Statistic, c.chi, tolExact) || !relClose(a.PValue, c.pChi, tolAsym) {
			t.Errorf("%s: chi %.17g p %.17g %v; R %.17g %.17g", c.call, a.Statistic, a.PValue, err, c.chi, c.pChi)
		}
		e, _ := McNemar(x, y, McNemarExact)
		m, _ := McNemar(x, y, McNemarMidP)
		if !relClose(e.PValue, c.pExact, tolExact) || !relClose(m.PValue, c.pMid, tolExact) {
			t.Errorf("%s: exact %.17g mid-p %.17g; R %.17g %.17g", c.call, e.PValue, m.PValue, c.pExact, c.pMid)
		}
	}
}

func TestPAdjustReference(t *testing.T) {
	cases := []struct {
		p, bh, by, holm []float64
		call            string
	}{
		{[]float64{0.01, 0.040000000000000001, 0.029999999999999999, 0.0050000000000000001, 0.5}, []float64{0.025000000000000001, 0.050000000000000003, 0.050000000000000003, 0.025000000000000001, 0.5}, []float64{0.057083333333333333, 0.11416666666666667, 0.11416666666666665, 0.057083333333333333, 1}, []float64{0.040000000000000001, 0.089999999999999997, 0.089999999999999997, 0.025000000000000001, 0.5}, "p.adjust(c(0.01, 0.04, 0.03, 0.005, 0.5), method)"},
		{[]float64{0.20000000000000001, 0.20000000000000001, 0.01, 0.90000000000000002, 0.040000000000000001, 0.040000000000000001}, []float64{0.23999999999999999, 0.23999999999999999, 0.059999999999999998, 0.90000000000000002, 0.080000000000000002, 0.080000000000000002}, []float64{0.58800000000000008, 0.58800000000000008, 0.14700000000000002, 1, 0.19600000000000001, 0.19600000000000001}, []float64{0.60000000000000009, 0.60000000000000009, 0.059999999999999998, 0.90000000000000002, 0.20000000000000001, 0.20000000000000001}, "p.adjust(c(0.2, 0.2, 0.01, 0.9, 0.04, 0.04), method)"},
		{[]float64{1.0000000000000001e-15, 0.29999999999999999, 1}, []float64{3.0000000000000002e-15, 0.44999999999999996, 1}, []float64{5.5000000000000002e-15, 0.82499999999999996, 1}, []float64{3.0000000000000002e-15, 0.59999999999999998, 1}, "p.adjust(c(1e-15, 0.3, 1), method)"},
		{[]float64{0.050000000000000003}, []float64{0.050000000000000003}, []float64{0.050000000000000003}, []float64{0.050000000000000003}, "p.adjust(c(0.05), method)"},
		{[]float64{0, 0, 0.5, 0.5, 1e-300, 1}, []float64{0, 0, 0.59999999999999998, 0.59999999999999998, 2.0000000000000001e-300, 1}, []float64{0, 0, 1, 1, 4.9000000000000006e-300, 1}, []float64{0, 0, 1, 1, 4.0000000000000001e-300, 1}, "p.adjust(c(0, 0, 0.5, 0.5, 1e-300, 1), method)"},
	}
	for _, c := range cases {
		for name, f := range map[string]func([]float64) ([]float64, error){"BH": BenjaminiHochberg, "BY": BenjaminiYekutieli, "holm": Holm} {
			want := map[string][]float64{"BH": c.bh, "BY": c.by, "holm": c.holm}[name]
			got, err := f(c.p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if !relClose(got[i], want[i], tolExact) {
					t.Errorf("%s %s: %v, R %v", c.call, name, got, want)
					break
				}
			}
		}
	}
}

func TestPowerPropReference(t *testing.T) {
	cases := []struct {
		p1, p2, alpha, power, n, power50 float64
		call                             string
	}{
		{0.5, 0.75, 0.050000000000000003, 0.90000000000000002, 76.706928451777443, 0.74016590133138793, "power.prop.test(p1 = 0.5, p2 = 0.75, sig.level = 0.05, power = 0.9, tol = 1e-12)$n / power.prop.test(n = 50, p1 = 0.5, p2 = 0.75, sig.level = 0.05)$power"},
		{0.10000000000000001, 0.14999999999999999, 0.01, 0.80000000000000004, 1020.4700628075791, 0.033991275480198792, "power.prop.test(p1 = 0.1, p2 = 0.15, sig.level = 0.01, power = 0.8, tol = 1e-12)$n / power.prop.test(n = 50, p1 = 0.1, p2 = 0.15, sig.level = 0.01)$power"},
		{0.94999999999999996, 0.98999999999999999, 0.050000000000000003, 0.5, 139.7330646027487, 0.21388531753781226, "power.prop.test(p1 = 0.95, p2 = 0.99, sig.level = 0.05, power = 0.5, tol = 1e-12)$n / power.prop.test(n = 50, p1 = 0.95, p2 = 0.99, sig.level = 0.05)$power"},
		{0.01, 0.02, 0.050000000000000003, 0.80000000000000004, 2318.1646755120355, 0.060579065115546747, "power.prop.test(p1 = 0.01, p2 = 0.02, sig.level = 0.05, power = 0.8, tol = 1e-12)$n / power.prop.test(n = 50, p1 = 0.01, p2 = 0.02, sig.level = 0.05)$power"},
	}
	for _, c := range cases {
		r, err := SampleSizeTwoProportions(c.p1, c.p2, c.alpha, c.power)
		if err != nil || !relClose(r.N, c.n, 1e-8) {
			t.Errorf("%s: n %.17g %v, R %.17g", c.call, r.N, err, c.n)
		}
		pw, err := PowerTwoProportions(50, c.p1, c.p2, c.alpha)
		if err != nil || !relClose(pw, c.power50, tolAsym) {
			t.Errorf("%s: power %.17g %v, R %.17g", c.call, pw, err, c.power50)
		}
	}
}

func TestTOSTMeanReference(t *testing.T) {
	cases := []struct {
		a, b      []float64
		margin    float64
		paired    bool
		pLow, pUp float64
		call      string
	}{
		{[]float64{5.1, 4.9, 5.3, 5, 5.2, 4.8, 5.1, 5}, []float64{5, 5.2, 5.1, 4.9, 5.3, 5, 5.2, 4.9, 5.1}, 0.29999999999999999, false, 0.0011545714545167626, 0.00026266025462937456, "t.test(a, b, mu = -0.3, alternative = \"greater\", paired = FALSE); t.test(a, b, mu = 0.3, alternative = \"less\", paired = FALSE)"},
		{[]float64{5.1, 4.9, 5.3, 5, 5.2, 4.8, 5.1, 5}, []float64{5, 5.2, 5.1, 4.9, 5.3, 5, 5.2, 4.9, 5.1}, 0.050000000000000003, false, 0.38312558647832595, 0.15333000543800732, "t.test(a, b, mu = -0.05, alternative = \"greater\", paired = FALSE); t.test(a, b, mu = 0.05, alternative = \"less\", paired = FALSE)"},
		{[]float64{5.1, 4.9, 5.3, 5, 5.2, 4.8, 5.1, 5}, []float64{5, 5.2, 5.1, 4.9, 5.3, 5, 5.2, 4.9}, 0.29999999999999999, true, 0.0015071118558985278, 0.00059625931067085365, "t.test(a, b, mu = -0.3, alternative = \"greater\", paired = TRUE); t.test(a, b, mu = 0.3, alternative = \"less\", paired = TRUE)"},
	}
	for _, c := range cases {
		r, err := TOSTMean(c.a, c.b, c.margin, c.paired)
		if err != nil || !relClose(r.PLower, c.pLow, tolExact) || !relClose(r.PUpper, c.pUp, tolExact) || r.PValue != math.Max(r.PLower, r.PUpper) {
			t.Errorf("%s: %.17g %.17g %v; R %.17g %.17g", c.call, r.PLower, r.PUpper, err, c.pLow, c.pUp)
		}
	}
}

func TestTOSTProportionReference(t *testing.T) {
	cases := []struct {
		k, n       int
		p0, margin float64
		pLow, pUp  float64
		call       string
	}{
		{85, 100, 0.84999999999999998, 0.10000000000000001, 0.011083267507460186, 0.00013585423899229265, "binom.test(85, 100, 0.75, alternative = \"greater\"); binom.test(85, 100, 0.95, alternative = \"less\")"},
		{500, 1000, 0.5, 0.050000000000000003, 0.00084654921661925719, 0.0008465492166192458, "binom.test(500, 1000, 0.45, alternative = \"greater\"); binom.test(500, 1000, 0.55, alternative = \"less\")"},
		{3, 10, 0.5, 0.10000000000000001, 0.83271024640000002, 0.054761881600000041, "binom.test(3, 10, 0.4, alternative = \"greater\"); binom.test(3, 10, 0.6, alternative = \"less\")"},
	}
	for _, c := range cases {
		r, err := TOSTProportion(c.k, c.n, c.p0, c.margin)
		if err != nil || !relClose(r.PLower, c.pLow, tolExact) || !relClose(r.PUpper, c.pUp, tolExact) {
			t.Errorf("%s: %.17g %.17g %v; R %.17g %.17g", c.call, r.PLower, r.PUpper, err, c.pLow, c.pUp)
		}
	}
}
