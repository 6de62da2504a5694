package evals

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/runners"
	"github.com/reprise-dev/reprise/store"
	"github.com/reprise-dev/reprise/system"
	"github.com/reprise-dev/reprise/verdict"
)

func ptr[T any](v T) *T { return &v }

func writeSuite(t *testing.T, spec, items string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, SpecFile), []byte(spec), 0o644)
	os.WriteFile(filepath.Join(dir, ItemsFile), []byte(items), 0o644)
	return dir
}

const labelSpec = `{"name":"loan","version":"1","scorer":{"type":"label"}}`
const labelItems = `{"id":"a","input":{"x":1},"reference":"approved","tags":["easy"]}
{"id":"b","input":{"x":2},"reference":"denied","tags":["hard"]}
{"id":"c","input":{"x":3},"reference":"approved","tags":["hard"]}
`

func TestScorers(t *testing.T) {
	cases := []struct {
		spec ScorerSpec
		out  output.Output
		ref  string
		want float64
	}{
		{ScorerSpec{Type: "exact"}, output.Output{Text: ptr("Paris")}, `"Paris"`, 1},
		{ScorerSpec{Type: "exact"}, output.Output{Text: ptr("paris")}, `"Paris"`, 0},
		{ScorerSpec{Type: "exact"}, output.Output{Text: ptr("Lyon")}, `["Paris","Lyon"]`, 1},
		// SQuAD normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
		{ScorerSpec{Type: "normalized_exact"}, output.Output{Text: ptr("The  Eiffel-Tower!")}, `"eiffeltower"`, 1},
		{ScorerSpec{Type: "normalized_exact"}, output.Output{Text: ptr("an apple")}, `"Apple."`, 1},
		// SQuAD f1_score("the cat sat on the mat", "a cat on a mat"): common {cat, on, mat} = 3,
		// P = 3/4, R = 3/3, F1 = 6/7.
		{ScorerSpec{Type: "token_f1"}, output.Output{Text: ptr("the cat sat on the mat")}, `"a cat on a mat"`, 6.0 / 7},
		{ScorerSpec{Type: "token_f1"}, output.Output{Text: ptr("dog")}, `"cat"`, 0},
		{ScorerSpec{Type: "regex"}, output.Output{Text: ptr("answer: 42")}, `"\\b42$"`, 1},
		{ScorerSpec{Type: "regex"}, output.Output{Text: ptr("answer: 421")}, `"\\b42$"`, 0},
		{ScorerSpec{Type: "numeric", Tolerance: 0.01}, output.Output{Score: ptr(0.855)}, `0.85`, 1},
		{ScorerSpec{Type: "numeric", Tolerance: 0.001}, output.Output{Score: ptr(0.855)}, `0.85`, 0},
		{ScorerSpec{Type: "numeric", RelTolerance: 0.1}, output.Output{Text: ptr(" 105 ")}, `100`, 1},
		{ScorerSpec{Type: "json_pointer", Pointer: "/a/1/b"}, output.Output{Text: ptr(`{"a":[0,{"b":"x"}]}`)}, `"x"`, 1},
		{ScorerSpec{Type: "json_pointer", Pointer: "/label"}, output.Output{Label: ptr("approved")}, `"approved"`, 1},
		{ScorerSpec{Type: "json_pointer", Pointer: "/score"}, output.Output{Score: ptr(1.0)}, `1`, 1},
		{ScorerSpec{Type: "label"}, output.Output{Label: ptr("approved"), Score: ptr(0.9)}, `"approved"`, 1},
		{ScorerSpec{Type: "label"}, output.Output{Text: ptr("approved")}, `"approved"`, 0},
		{ScorerSpec{Type: "contains"}, output.Output{Text: ptr("The answer is Paris.")}, `"Paris"`, 1},
		{ScorerSpec{Type: "contains", CaseInsensitive: true}, output.Output{Text: ptr("PARIS")}, `"paris"`, 1},
	}
	for _, c := range cases {
		t.Run(c.spec.Type+"/"+c.ref, func(t *testing.T) {
			s, err := NewScorer(c.spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.CheckReference(json.RawMessage(c.ref)); err != nil {
				t.Fatalf("reference: %v", err)
			}
			if got := s.Score(c.out, false, json.RawMessage(c.ref)); math.Abs(got-c.want) > 1e-12 {
				t.Errorf("score %v, want %v", got, c.want)
			}
			if got := s.Score(c.out, true, json.RawMessage(c.ref)); got != 0 {
				t.Errorf("failed run scored %v", got)
			}
		})
	}
}

func TestBadSuites(t *testing.T) {
	cases := []struct{ name, spec, items, want string }{
		{"unknown scorer", `{"name":"n","version":"1","scorer":{"type":"bleu"}}`, labelItems, `suite.json: scorer: unknown scorer "bleu"`},
		{"duplicate", labelSpec, labelItems + `{"id":"b","input":{},"reference":"x"}` + "\n", `items.jsonl:4: duplicate item id "b" (first on line 2)`},
		{"malformed", labelSpec, `{"id":"a","input":{},"reference":"x"}` + "\n{oops\n", `items.jsonl:2: invalid character`},
		{"unknown field", labelSpec, `{"id":"a","input":{},"reference":"x","extra":1}`, `items.jsonl:1: json: unknown field "extra"`},
		{"no reference", labelSpec, `{"id":"a","input":{}}`, `items.jsonl:1: item "a" has no reference`},
		{"bad numeric ref", `{"name":"n","version":"1","scorer":{"type":"numeric"}}`, `{"id":"a","input":{},"reference":"x"}`, `items.jsonl:1: item "a": reference: want a number`},
		{"bad regex", `{"name":"n","version":"1","scorer":{"type":"regex"}}`, `{"id":"a","input":{},"reference":"("}`, `items.jsonl:1: item "a": reference: error parsing regexp`},
		{"no items", labelSpec, "\n", "items.jsonl: no items"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadDir(writeSuite(t, c.spec, c.items))
			if !errors.Is(err, ErrSuite) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want ErrSuite containing %q", err, c.want)
			}
		})
	}
}

func TestPackDigestAndDiff(t *testing.T) {
	ctx := context.Background()
	st := store.NewMem()
	s1, err := LoadDir(writeSuite(t, labelSpec, labelItems))
	if err != nil {
		t.Fatal(err)
	}
	d1, err := Pack(ctx, st, s1)
	if err != nil || d1 != s1.Digest {
		t.Fatalf("pack: %v %v", d1, err)
	}
	back, err := Load(ctx, st, d1)
	if err != nil || back.Digest != d1 || len(back.Items) != 3 {
		t.Fatalf("load: %v", err)
	}
	variants := map[string][2]string{
		"reference": {labelSpec, strings.Replace(labelItems, `"denied"`, `"referred"`, 1)},
		"input":     {labelSpec, strings.Replace(labelItems, `{"x":3}`, `{"x":4}`, 1)},
		"scorer":    {strings.Replace(labelSpec, `"label"`, `"exact"`, 1), labelItems},
		"item":      {labelSpec, labelItems + `{"id":"d","input":{"x":5},"reference":"denied"}` + "\n"},
	}
	for name, v := range variants {
		s2, err := LoadDir(writeSuite(t, v[0], v[1]))
		if err != nil {
			t.Fatal(err)
		}
		if s2.Digest == d1 {
			t.Errorf("%s change kept the digest", name)
		}
		d := DiffSuites(s1, s2)
		switch name {
		case "reference":
			if len(d.RefChanged) != 1 || d.RefChanged[0] != "b" || d.Unchanged != 2 {
				t.Errorf("diff %+v", d)
			}
		case "input":
			if len(d.InputChanged) != 1 || d.InputChanged[0] != "c" {
				t.Errorf("diff %+v", d)
			}
		case "scorer":
			if !d.ScorerChanged || d.Unchanged != 3 {
				t.Errorf("diff %+v", d)
			}
		case "item":
			if len(d.Added) != 1 || d.Added[0] != "d" {
				t.Errorf("diff %+v", d)
			}
		}
	}
	list, err := ListSuites(ctx, st)
	if err != nil || len(list) != 1 || list[0] != d1 {
		t.Fatalf("ListSuites %v %v", list, err)
	}
}

func TestSeedFor(t *testing.T) {
	if SeedFor(1, "a", 0) == SeedFor(1, "a", 1) || SeedFor(1, "a", 0) == SeedFor(2, "a", 0) || SeedFor(1, "a", 0) < 0 {
		t.Fatal("seeds must differ by epoch and run seed and be non-negative")
	}
	if SeedFor(7, "x", 3) != SeedFor(7, "x", 3) {
		t.Fatal("not repeatable")
	}
	// The rule is part of the results' format: the first 8 bytes of the
	// sha256, big-endian, shifted right by one bit. Values by hand:
	//   printf 'reprise/evals/seed/v1\n42\nitem-1\n2' | sha256sum | cut -c1-16   # f072c698f3578f93
	//   echo 'ibase=16; F072C698F3578F93/2' | bc                                   # 8663064538333824969
	// (clearing the top bit instead would give 0x7072c698f3578f93 = 8102757039812874131).
	for _, c := range []struct {
		run   int64
		id    string
		epoch int
		want  int64
	}{
		{1, "a", 0, 1755511900496427454},       // 30b9a98b781ef37d >> 1
		{7, "x", 3, 2060247509180202974},       // 392ef0634c237fbc >> 1
		{42, "item-1", 2, 8663064538333824969}, // f072c698f3578f93 >> 1 (top bit set)
	} {
		if got := SeedFor(c.run, c.id, c.epoch); got != c.want {
			t.Errorf("SeedFor(%d, %q, %d) = %d, want %d", c.run, c.id, c.epoch, got, c.want)
		}
	}
}

func TestClusterMean(t *testing.T) {
	// Two epochs per item; values calculated with R:
	// y1 <- c(1, 0.5, 0, 1, 0.25, 0.75); y2 <- c(1, 0, 0, 0.5, 0.25, 1)
	// m <- (y1 + y2) / 2; mean(m); t.test(m)$conf.int
	y1 := []float64{1, 0.5, 0, 1, 0.25, 0.75}
	y2 := []float64{1, 0, 0, 0.5, 0.25, 1}
	var rows []Row
	for i := range y1 {
		id := string(rune('a' + i))
		rows = append(rows, Row{Item: id, Epoch: 0, Score: y1[i]}, Row{Item: id, Epoch: 1, Score: y2[i]})
	}
	e := ClusterMean(rows, 0.95)
	for _, c := range []struct{ got, want float64 }{{e.Mean, 0.520833333333333}, {e.Lower, 0.0944160235225718}, {e.Upper, 0.947250643144095}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("got %.15g, want %.15g", c.got, c.want)
		}
	}
	if e.Items != 6 || e.Rows != 12 {
		t.Errorf("%+v", e)
	}
}

func runsOf(a, b []float64) (*RunManifest, *RunManifest, []Row, []Row) {
	s := digest.FromBytes([]byte("suite"))
	var ra, rb []Row
	for i := range a {
		id := string(rune('a' + i))
		ra = append(ra, Row{Item: id, Score: a[i]})
		rb = append(rb, Row{Item: id, Score: b[i]})
	}
	return &RunManifest{Suite: s}, &RunManifest{Suite: s}, ra, rb
}

func TestCompare(t *testing.T) {
	t.Run("mcnemar", func(t *testing.T) {
		// 5 items pass only in B, 1 only in A: binom.test(5, 6, 0.5)$p.value in R
		a := []float64{0, 0, 0, 0, 0, 1, 1, 1, 0, 1}
		b := []float64{1, 1, 1, 1, 1, 0, 1, 1, 0, 1}
		ma, mb, ra, rb := runsOf(a, b)
		c, err := Compare(digest.Digest{}, digest.Digest{}, ma, mb, ra, rb, CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !c.Binary || math.Abs(c.PValue-0.21875) > 1e-12 || len(c.Flipped) != 6 {
			t.Errorf("%+v", c)
		}
	})
	t.Run("wilcoxon+tost", func(t *testing.T) {
		// R: wilcox.test(b, a, paired = TRUE)$p.value (normal approximation, ties)
		// and max of t.test(b, a, paired = TRUE, mu = ∓0.2, alternative = "greater"/"less")$p.value
		a := []float64{0.2, 0.5, 0.9, 0.4, 0.7, 0.3, 0.8, 0.6}
		b := []float64{0.3, 0.7, 0.85, 0.6, 0.9, 0.35, 0.95, 0.62}
		ma, mb, ra, rb := runsOf(a, b)
		c, err := Compare(digest.Digest{}, digest.Digest{}, ma, mb, ra, rb, CompareOptions{Margin: 0.2, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		if c.Binary || math.Abs(c.PValue-0.0420627333567661) > 1e-9 {
			t.Errorf("wilcoxon p %v (%s)", c.PValue, c.Test)
		}
		if math.Abs(*c.TOSTP-0.0150045560966227) > 1e-9 || !*c.Equivalent || c.Verdict != "EQUIVALENT" {
			t.Errorf("tost %v %v", *c.TOSTP, c.Verdict)
		}
		// R: t.test(b, a, paired = TRUE, conf.level = 0.9)$conf.int
		if math.Abs(*c.EqLower-0.045059070742737) > 1e-9 || math.Abs(*c.EqUpper-0.172440929257263) > 1e-9 {
			t.Errorf("1−2α interval [%v, %v]", *c.EqLower, *c.EqUpper)
		}
		if EvalVerdict(c) != verdict.Reproduced {
			t.Errorf("verdict %s", EvalVerdict(c))
		}
		c, _ = Compare(digest.Digest{}, digest.Digest{}, ma, mb, ra, rb, CompareOptions{Margin: 0.04, Seed: 1})
		if EvalVerdict(c) != verdict.Diverged { // [0.045, 0.172] lies above 0.04
			t.Errorf("margin 0.04: %s", EvalVerdict(c))
		}
		c, _ = Compare(digest.Digest{}, digest.Digest{}, ma, mb, ra, rb, CompareOptions{Margin: 0.1, Seed: 1})
		if EvalVerdict(c) != verdict.Inconclusive {
			t.Errorf("margin 0.1: %s", EvalVerdict(c))
		}
		if !(c.Lower < c.Diff && c.Diff < c.Upper) {
			t.Errorf("bootstrap interval [%v, %v] misses %v", c.Lower, c.Upper, c.Diff)
		}
	})
	t.Run("different suites", func(t *testing.T) {
		a := &RunManifest{Suite: digest.FromBytes([]byte("1")), SuiteName: "loan", SuiteVersion: "1"}
		b := &RunManifest{Suite: digest.FromBytes([]byte("2")), SuiteName: "loan", SuiteVersion: "2"}
		_, err := Compare(digest.FromBytes([]byte("ra")), digest.FromBytes([]byte("rb")), a, b, nil, nil, CompareOptions{})
		if !errors.Is(err, ErrSuiteMismatch) || !strings.Contains(err.Error(), "reprise evals rescore --suite "+b.Suite.String()+" --results "+digest.FromBytes([]byte("ra")).String()) {
			t.Fatalf("%v", err)
		}
	})
}

// fakeSession answers by the input's x: even → approved, odd → denied;
// x = 99 answers an error.
type fakeSession struct{ calls int }

func (f *fakeSession) Run(ctx context.Context, req runners.Request) (runners.Response, error) {
	f.calls++
	var in struct{ X int }
	json.Unmarshal(req.Input, &in)
	if in.X == 99 {
		return runners.Response{Error: "bad input", Raw: []byte(`{"error":"bad input"}`)}, nil
	}
	l := "approved"
	if in.X%2 == 1 {
		l = "denied"
	}
	o := output.Output{Label: &l}
	return runners.Response{Output: o, Raw: o.Canonical()}, nil
}

func (f *fakeSession) Info() runners.Info          { return runners.Info{Runner: "fake", Pinned: true} }
func (f *fakeSession) Close(context.Context) error { return nil }

func TestRunSaveHistoryRescore(t *testing.T) {
	ctx := context.Background()
	st := store.NewMem()
	s1, _ := LoadDir(writeSuite(t, labelSpec, labelItems+`{"id":"e","input":{"x":99},"reference":"denied"}`+"\n"))
	f := &fakeSession{}
	sysID := digest.FromBytes([]byte("sys"))
	rows, err := Run(ctx, f, s1, sysID, RunOptions{Epochs: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 8 || f.calls != 8 {
		t.Fatalf("%d rows, %d calls", len(rows), f.calls)
	}
	// a: x=1 denied vs approved → 0; b: x=2 approved vs denied → 0; c: x=3 denied vs approved → 0; e: error → 0
	sum := Summarize(s1, rows, 0.95)
	if sum.Mean != 0 || sum.Errors != 2 || len(sum.ByTag) != 2 {
		t.Fatalf("summary %+v", sum)
	}
	m := &RunManifest{Suite: s1.Digest, SuiteName: "loan", SuiteVersion: "1", RunSeed: 5, Epochs: 2, Summary: sum}
	m.System.ID = sysID
	m.System.Image, _ = system.ParseImageRef(digest.FromBytes([]byte("img")).String())
	m.System.Model.Digest, m.System.Config.Digest = digest.FromBytes([]byte("m")), digest.FromBytes([]byte("c"))
	rd, err := Save(ctx, st, m, rows)
	if err != nil {
		t.Fatal(err)
	}
	h, err := History(ctx, st, s1.Digest, digest.Digest{})
	if err != nil || len(h) != 1 || h[0].Run != rd {
		t.Fatalf("history %v %v", h, err)
	}
	back, err := LoadRun(ctx, st, rd)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LoadRows(ctx, st, back)
	if err != nil || len(got) != 8 || got[3].Seed != rows[3].Seed || got[3].Output != rows[3].Output {
		t.Fatalf("rows %v %v", got, err)
	}
	// v2: a's reference flipped to denied (re-scored, now 1), c's input changed (run), f new (run), e dropped.
	items2 := `{"id":"a","input":{"x":1},"reference":"denied","tags":["easy"]}
{"id":"b","input":{"x":2},"reference":"denied","tags":["hard"]}
{"id":"c","input":{"x":4},"reference":"approved","tags":["hard"]}
{"id":"f","input":{"x":6},"reference":"approved"}
`
	s2, _ := LoadDir(writeSuite(t, strings.Replace(labelSpec, `"1"`, `"2"`, 1), items2))
	rs := RescoreRows(s2, got)
	if rs.Items != 2 || len(rs.Rows) != 4 || !rs.Missing["c"] || !rs.Missing["f"] || len(rs.Missing) != 2 {
		t.Fatalf("rescore %+v", rs)
	}
	f.calls = 0
	ran, err := Run(ctx, f, s2, sysID, RunOptions{Epochs: 2, Seed: 5, Only: rs.Missing})
	if err != nil || f.calls != 4 {
		t.Fatal(err, f.calls)
	}
	all := Merge(s2, rs.Rows, ran)
	var ids []string
	for _, r := range all {
		ids = append(ids, r.Item)
	}
	if strings.Join(ids, "") != "aabbccff" {
		t.Fatalf("order %v", ids)
	}
	if ItemMeans(all)["a"] != 1 || ItemMeans(all)["c"] != 1 || ItemMeans(all)["b"] != 0 {
		t.Fatalf("means %v", ItemMeans(all))
	}
	if all[0].Seed != SeedFor(5, "a", 0) || !all[0].Rescored || all[4].Rescored {
		t.Fatalf("rows %+v", all[:5])
	}
}
