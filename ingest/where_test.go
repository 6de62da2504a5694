package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/reprise-dev/reprise/record"
)

func TestWhereColumns(t *testing.T) {
	cases := []struct {
		expr string
		time bool
		want []string
	}{
		{`model.version == "2.4.1" && output.score < 0.7`, false, []string{"model_version", "output_score"}},
		{`model.version == "2.4.1" && output.score < 0.7`, true, []string{"model_version", "output_score", "timestamp"}},
		{`has(output.text) && request_id != ""`, false, []string{"output_text", "request_id"}},
		{`model["version"] == "1"`, false, []string{"model_digest", "model_name", "model_version"}},
		{`system.exists(k, k == "id") && protocol == "x"`, false, []string{"protocol", "system_id", "system_image"}},
		{`timestamp > timestamp("2026-01-01T00:00:00Z") && hardware_class == "cpu"`, false, []string{"hardware_class", "timestamp"}},
		{`true`, false, nil},
	}
	for _, c := range cases {
		w, err := CompileWhere(c.expr)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		f := Filter{Where: w}
		if c.time {
			f.Time.Since = time.Unix(1, 0)
		}
		if got := f.Columns(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s (time %v): columns %v, want %v", c.expr, c.time, got, c.want)
		}
	}
}

// TestRowMatcherAgreesWithKeep evaluates filters on column batches and on
// the decoded records of the same log: the same rows are kept, and the same
// rows give evaluation errors.
func TestRowMatcherAgreesWithKeep(t *testing.T) {
	base := validRecord(t)
	const n = 600
	recs := make([]*record.Record, n)
	for i := range n {
		r := *base
		r.RequestID = fmt.Sprintf("req_%04d", i)
		r.Timestamp = base.Timestamp.Add(time.Duration(i) * time.Minute)
		r.System.Model.Version = fmt.Sprintf("2.4.%d", i%4)
		label := []string{"approved", "denied", "referred"}[i%3]
		r.Output.Label = &label
		if i%6 == 5 {
			r.Output.Score = nil
		} else {
			sc := float64(i%10) / 10
			r.Output.Score = &sc
		}
		recs[i] = &r
	}
	l := parquetLog(t, []parquet.WriterOption{parquet.MaxRowsPerRowGroup(128)}, recs...)
	decoded := map[int64]*record.Record{}
	if err := l.Scan(record.ScanOptions{}, func(row int64, rec *record.Record, err error) bool {
		if err != nil {
			t.Fatalf("row %d: %v", row, err)
		}
		decoded[row] = rec
		return true
	}); err != nil {
		t.Fatal(err)
	}
	since := base.Timestamp.Add(100 * time.Minute)
	exprs := []string{
		`model.version == "2.4.1" && output.score < 0.7`,
		`output.score < 0.5`, // an error where the score is NULL
		`has(output.score) && output.score >= 0.5 || output.label == "denied"`,
		`model["version"] in ["2.4.0", "2.4.3"] && request_id > "req_0300"`,
		`timestamp < timestamp("` + base.Timestamp.Add(300*time.Minute).Format(time.RFC3339) + `")`,
		`system.image.startsWith("` + base.System.Image.Name + `") && input.media_type == "` + base.Input.MediaType + `"`,
		`output.score > 0.3 || output.label == "referred"`, // an error where the score is NULL and the label not referred
	}
	for _, expr := range exprs {
		wh, err := CompileWhere(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		for _, f := range []Filter{{Where: wh}, {Where: wh, Time: record.TimeRange{Since: since}}} {
			cols := f.Columns()
			var mu sync.Mutex
			kept, errs := 0, 0
			err := l.ScanColumns(cols, record.ScanOptions{Time: f.Time}, 2, func(_ int, b *record.ColumnBatch) error {
				m, err := f.NewRowMatcher(cols)
				if err != nil {
					return err
				}
				mu.Lock()
				defer mu.Unlock()
				for i := range b.Len {
					row := b.First + int64(i)
					got, probs := m.Match(b, i)
					keep, kerr := f.Keep(decoded[row])
					if (len(probs) > 0) != (kerr != nil) || got != keep {
						t.Errorf("%s row %d: Match %v %v, Keep %v %v", expr, row, got, probs, keep, kerr)
					}
					if len(probs) > 0 && probs[0].Field != "where" {
						t.Errorf("%s row %d: problem %+v", expr, row, probs)
					}
					kept += btoi(got)
					errs += btoi(len(probs) > 0)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if kept == 0 && errs == 0 {
				t.Errorf("%s: no row kept, a test that cannot fail", expr)
			}
		}
	}
}

// TestRowMatcherNulls: a NULL in a required column the filter reads is a
// problem naming it; a NULL timestamp under a time range too.
func TestRowMatcherNulls(t *testing.T) {
	base := validRecord(t)
	good, noVersion, noTime := *base, *base, *base
	noVersion.System.Model.Version = ""
	noTime.Timestamp = time.Time{}
	l := parquetLog(t, nil, &good, &noVersion, &noTime)
	wh, err := CompileWhere(`model.version != "x"`)
	if err != nil {
		t.Fatal(err)
	}
	f := Filter{Where: wh, Time: record.TimeRange{Until: base.Timestamp.Add(time.Hour)}}
	keep, got := matchRows(t, l, f)
	want := [][]record.Problem{nil,
		{{Field: "model_version", Message: "NULL in a required column"}},
		{{Field: "timestamp", Message: "NULL in a required column"}}}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(keep, []bool{true, false, false}) {
		t.Errorf("got %v %+v, want [true false false] %+v", keep, got, want)
	}
	if _, err := f.NewRowMatcher([]string{"timestamp"}); err == nil {
		t.Error("a matcher without the model_version column was made")
	}
}

// validRecord is record/testdata/valid.json.
func validRecord(t *testing.T) *record.Record {
	t.Helper()
	b, err := os.ReadFile("../record/testdata/valid.json")
	if err != nil {
		t.Fatal(err)
	}
	r, err := record.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// parquetLog writes recs to a Parquet decision log in memory (with opts)
// and opens it.
func parquetLog(t *testing.T, opts []parquet.WriterOption, recs ...*record.Record) *record.ParquetLog {
	t.Helper()
	var buf bytes.Buffer
	w := record.NewParquetWriter(&buf, opts...)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := record.OpenParquetLog(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// matchRows matches every row of l with f's row matcher, on one worker:
// whether each is kept, and its problems.
func matchRows(t *testing.T, l *record.ParquetLog, f Filter) (keep []bool, problems [][]record.Problem) {
	t.Helper()
	m, err := f.NewRowMatcher(f.Columns())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ScanColumns(f.Columns(), record.ScanOptions{}, 1, func(_ int, b *record.ColumnBatch) error {
		for i := range b.Len {
			k, p := m.Match(b, i)
			keep, problems = append(keep, k), append(problems, p)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return keep, problems
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestWhereTypes: an expression that cannot match the decision log's
// column types is refused when compiled, its message naming the
// expression and the types; one that can compiles.
func TestWhereTypes(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`output.score == "x"`, `found no matching overload for '_==_' applied to '(double, string)'`},
		{`output.label > 0.5`, `'(string, double)'`},
		{`model.version == 2`, `'(string, int)'`},
		{`timestamp == "2026-01-01"`, `'(timestamp, string)'`},
		{`output.nosuch == "x"`, `undefined field 'nosuch'`},
		{`request_id`, `is a string, not a bool`},
	} {
		_, err := CompileWhere(c.expr)
		if !errors.Is(err, ErrWhere) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), fmt.Sprintf("%q", c.expr)) {
			t.Errorf("CompileWhere(%s): %v, want ErrWhere naming the expression and %s", c.expr, err, c.want)
			continue
		}
		if c.want != `is a string, not a bool` && !strings.Contains(err.Error(), "output.score double, output.text string") {
			t.Errorf("CompileWhere(%s): %v does not list the column types", c.expr, err)
		}
	}
	for _, ok := range []string{`output.score == 0.5`, `has(output.score) && output.score < 1.0`, `output.label == "x"`,
		`model["version"] == "1"`, `system.exists(k, system[k] == "x")`, `timestamp > timestamp("2026-01-01T00:00:00Z")`} {
		if _, err := CompileWhere(ok); err != nil {
			t.Errorf("CompileWhere(%s): %v", ok, err)
		}
	}
}

// TestWhereCostLimit: an expression whose estimated cost is over the limit
// is refused when compiled (six nested all() over 10 elements: about 1.7e7
// units), naming the limit and the flag; one within the estimate that goes
// over the limit on a row (a longer string than the estimate assumes) is a
// row problem (CostProblem) of that row, and an ErrWhereCost for Match.
func TestWhereCostLimit(t *testing.T) {
	l10 := "[1,2,3,4,5,6,7,8,9,10]"
	nested := "a + b + c + d + e + f > 0"
	for _, v := range []string{"f", "e", "d", "c", "b", "a"} {
		nested = l10 + ".all(" + v + ", " + nested + ")"
	}
	_, err := CompileWhere(nested)
	if !errors.Is(err, ErrWhere) || !strings.Contains(err.Error(), "exceeds the cost limit of 1000000 (raise it with --where-cost-limit)") {
		t.Errorf("six nested all(): %v", err)
	}
	if _, err := CompileWhereCost(nested, 20_000_000); err != nil {
		t.Errorf("six nested all() under a limit of 2e7: %v", err)
	}
	if _, err := CompileWhereCost(`output.text.contains("x")`, 1000); err == nil || !strings.Contains(err.Error(), "cost limit of 1000") {
		t.Errorf("output.text.contains under a limit of 1000: %v", err)
	}

	base := validRecord(t)
	long := *base
	long.System.Model.Name = strings.Repeat("m", 100_000) // 10^4 units to read through
	wh, err := CompileWhereCost(`model.name.contains("x")`, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// Only an expression whose cost depends on the strings' sizes is
	// tracked on every evaluation (tracking costs several times a simple
	// evaluation); the estimate bounds the others.
	simple, err := CompileWhere(`model.version == "2.4.1" && output.score < 0.7 && model.all(k, system.all(j, k != j))`)
	if err != nil {
		t.Fatal(err)
	}
	if !wh.tracked || simple.tracked {
		t.Errorf("tracked: contains %v, simple %v; want true, false", wh.tracked, simple.tracked)
	}
	if ok, err := wh.Match(base); ok || err != nil {
		t.Errorf("short name: %v %v", ok, err)
	}
	wantMsg := `where model.name.contains("x"): its evaluation went over the cost limit of 1000 (raise it with --where-cost-limit)`
	if _, err := wh.Match(&long); !errors.Is(err, ErrWhereCost) || !strings.Contains(err.Error(), wantMsg) {
		t.Errorf("long name: %v", err)
	}
	_, got := matchRows(t, parquetLog(t, nil, base, &long), Filter{Where: wh})
	want := [][]record.Problem{nil, {{Field: CostProblem, Message: wantMsg}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems %+v, want %+v", got, want)
	}
}

// TestSelectionFilter: a Selection compiles to the filter its flags say,
// and each bad flag is an error naming it that matches ErrSelection (and
// ErrWhere for the expression).
func TestSelectionFilter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f, err := Selection{Where: `output.score < 0.7`, Since: "24h", Until: "2026-03-01T06:00:00Z", WhereCost: DefaultWhereCost}.Filter(now)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-24 * time.Hour); !f.Time.Since.Equal(want) || f.Time.Until.Hour() != 6 || f.Where == nil {
		t.Errorf("filter %+v: want since %v, until 06:00 and a where", f, want)
	}
	if f, err := (Selection{WhereCost: 1}).Filter(now); err != nil || f.Where != nil || !f.Time.Since.IsZero() {
		t.Errorf("empty selection: %+v %v", f, err)
	}
	for _, c := range []struct {
		sel   Selection
		msg   string
		where bool
	}{
		{Selection{Since: "-1h", WhereCost: 1}, "--since: ", false},
		{Selection{Until: "tomorrow", WhereCost: 1}, "--until: ", false},
		{Selection{}, "--where-cost-limit must be at least 1", false},
		{Selection{Where: `output.score`, WhereCost: 1000}, "--where: ", true},
	} {
		_, err := c.sel.Filter(now)
		if !errors.Is(err, ErrSelection) || errors.Is(err, ErrWhere) != c.where || !strings.HasPrefix(fmt.Sprint(err), c.msg) {
			t.Errorf("%+v: %v; want ErrSelection (ErrWhere %v) starting %q", c.sel, err, c.where, c.msg)
		}
	}
}
