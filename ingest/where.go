package ingest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/interpreter"

	"github.com/reprise-dev/reprise/record"
)

// ErrWhere: the --where expression does not compile or is not a bool.
var ErrWhere = errors.New("invalid where expression")

// Where is a compiled CEL expression over a record. Its variables:
//
//	request_id      string
//	timestamp       timestamp
//	model, config   {name, version, digest}        (strings)
//	system          {id, image}                     (strings)
//	input           {digest, media_type}            (strings)
//	output          {label, score, text, digest}    (label/text strings, score double; absent when unset)
//	protocol, hardware_class  string
//
// e.g. model.version == "2.4.1" && output.score < 0.7. Reading a field the
// record does not have (output.score of a label-only record) is an
// evaluation error; guard it with has(output.score).
type Where struct {
	prg  cel.Program
	expr string
	// cols are the decision-log columns the expression reads.
	cols []string
}

// whereFields maps each variable of a Where to its fields and their
// decision-log columns (a scalar variable has the one field "").
var whereFields = map[string]map[string]string{
	"request_id":     {"": "request_id"},
	"timestamp":      {"": "timestamp"},
	"protocol":       {"": "protocol"},
	"hardware_class": {"": "hardware_class"},
	"model":          {"name": "model_name", "version": "model_version", "digest": "model_digest"},
	"config":         {"name": "config_name", "version": "config_version", "digest": "config_digest"},
	"system":         {"id": "system_id", "image": "system_image"},
	"input":          {"digest": "input_digest", "media_type": "input_media_type"},
	"output":         {"label": "output_label", "score": "output_score", "text": "output_text", "digest": "output_digest"},
}

// optionalColumns may be NULL: the field is then absent, as in Match.
var optionalColumns = map[string]bool{"output_label": true, "output_score": true, "output_text": true}

// referencedColumns lists the columns an expression reads: model.version
// reads model_version only; a map variable used whole (model["version"],
// a comprehension over it) reads all its columns.
func referencedColumns(a *celast.AST) []string {
	selected := map[int64]string{} // ident expr id -> field selected from it
	celast.PostOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() == celast.SelectKind {
			if op := e.AsSelect().Operand(); op.Kind() == celast.IdentKind {
				selected[op.ID()] = e.AsSelect().FieldName()
			}
		}
	}))
	set := map[string]bool{}
	celast.PostOrderVisit(a.Expr(), celast.NewExprVisitor(func(e celast.Expr) {
		if e.Kind() != celast.IdentKind {
			return
		}
		fields, ok := whereFields[e.AsIdent()]
		if !ok {
			return
		}
		if f, ok := selected[e.ID()]; ok {
			if c, ok := fields[f]; ok {
				set[c] = true
				return
			}
		}
		for _, c := range fields {
			set[c] = true
		}
	}))
	return slices.Sorted(maps.Keys(set))
}

// CompileWhere compiles expr; it must evaluate to a bool.
func CompileWhere(expr string) (*Where, error) {
	m := cel.MapType(cel.StringType, cel.DynType)
	env, err := cel.NewEnv(
		cel.Variable("request_id", cel.StringType),
		cel.Variable("timestamp", cel.TimestampType),
		cel.Variable("model", m), cel.Variable("config", m), cel.Variable("system", m),
		cel.Variable("input", m), cel.Variable("output", m),
		cel.Variable("protocol", cel.StringType), cel.Variable("hardware_class", cel.StringType),
	)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: %v", ErrWhere, iss.Err())
	}
	if ast.OutputType() != cel.BoolType && ast.OutputType() != cel.DynType {
		return nil, fmt.Errorf("%w: %q is a %s, not a bool", ErrWhere, expr, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWhere, err)
	}
	return &Where{prg: prg, expr: expr, cols: referencedColumns(ast.NativeRep())}, nil
}

// Columns are the decision-log columns the expression reads.
func (w *Where) Columns() []string { return slices.Clone(w.cols) }

// String is the expression.
func (w *Where) String() string { return w.expr }

// Match evaluates the expression on r. An evaluation error (a missing
// field, a non-bool result) is returned, never taken as false.
func (w *Where) Match(r *record.Record) (bool, error) {
	out := map[string]any{"digest": r.Output.Digest.String()}
	if r.Output.Label != nil {
		out["label"] = *r.Output.Label
	}
	if r.Output.Score != nil {
		out["score"] = *r.Output.Score
	}
	if r.Output.Text != nil {
		out["text"] = *r.Output.Text
	}
	s := r.System
	vars := map[string]any{
		"request_id": r.RequestID,
		"timestamp":  r.Timestamp,
		"model":      map[string]any{"name": s.Model.Name, "version": s.Model.Version, "digest": s.Model.Digest.String()},
		"config":     map[string]any{"name": s.Config.Name, "version": s.Config.Version, "digest": s.Config.Digest.String()},
		"system":     map[string]any{"id": s.ID.String(), "image": s.Image.String()},
		"input":      map[string]any{"digest": r.Input.Digest.String(), "media_type": r.Input.MediaType},
		"output":     out,
		"protocol":   r.Runtime.Protocol, "hardware_class": r.Runtime.HardwareClass,
	}
	v, _, err := w.prg.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("where %s: %v", w.expr, err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("where %s: not a bool: %v", w.expr, v)
	}
	return b, nil
}

// ParseTimeBound parses a --since/--until value: a duration before now
// ("24h", "90m") or an RFC 3339 time.
func ParseTimeBound(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("duration %q must not be negative", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (24h) nor an RFC 3339 time", s)
	}
	return t, nil
}

// Filter selects records: a time range and an optional CEL expression.
type Filter struct {
	Time  record.TimeRange
	Where *Where
}

// Keep reports whether r is selected; err is a where evaluation error.
func (f *Filter) Keep(r *record.Record) (bool, error) {
	if !f.Time.Contains(r.Timestamp) {
		return false, nil
	}
	if f.Where == nil {
		return true, nil
	}
	return f.Where.Match(r)
}

// Columns are the decision-log columns the filter reads: timestamp when it
// has a time range, and those of its where expression.
func (f *Filter) Columns() []string {
	set := map[string]bool{}
	if !f.Time.Since.IsZero() || !f.Time.Until.IsZero() {
		set["timestamp"] = true
	}
	if f.Where != nil {
		for _, c := range f.Where.cols {
			set[c] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// RowMatcher evaluates a Filter on rows of column batches without building
// records; one per goroutine.
type RowMatcher struct {
	f     *Filter
	ts    int            // batch position of timestamp, or -1
	pos   map[string]int // batch position of each column the where reads
	b     *record.ColumnBatch
	i     int
	maps  map[string]map[string]any
	timed bool
}

// NewRowMatcher returns a matcher for batches of the given columns, which
// must include f.Columns().
func (f *Filter) NewRowMatcher(cols []string) (*RowMatcher, error) {
	m := &RowMatcher{f: f, ts: -1, pos: map[string]int{}, maps: map[string]map[string]any{},
		timed: !f.Time.Since.IsZero() || !f.Time.Until.IsZero()}
	for _, c := range f.Columns() {
		i := slices.Index(cols, c)
		if i < 0 {
			return nil, fmt.Errorf("row matcher: column %s not in the batch", c)
		}
		m.pos[c] = i
		if c == "timestamp" {
			m.ts = i
		}
	}
	return m, nil
}

// Match reports whether row i of b is selected. A row the filter cannot
// judge has problems: a NULL in a required column it reads (named), or an
// evaluation error of the where expression (field "where"), as Keep would
// give for the decoded record.
func (m *RowMatcher) Match(b *record.ColumnBatch, i int) (bool, []record.Problem) {
	if m.timed {
		if b.Null(m.ts, i) {
			return false, []record.Problem{{Field: "timestamp", Message: "NULL in a required column"}}
		}
		if !m.f.Time.Contains(b.Time(m.ts, i)) {
			return false, nil
		}
	}
	w := m.f.Where
	if w == nil {
		return true, nil
	}
	var probs []record.Problem
	for _, c := range w.cols {
		if !optionalColumns[c] && b.Null(m.pos[c], i) {
			probs = append(probs, record.Problem{Field: c, Message: "NULL in a required column"})
		}
	}
	if len(probs) > 0 {
		return false, probs
	}
	m.b, m.i = b, i
	v, _, err := w.prg.Eval(m)
	m.b = nil
	if err != nil {
		return false, []record.Problem{{Field: "where", Message: fmt.Sprintf("where %s: %v", w.expr, err)}}
	}
	ok, isBool := v.Value().(bool)
	if !isBool {
		return false, []record.Problem{{Field: "where", Message: fmt.Sprintf("where %s: not a bool: %v", w.expr, v)}}
	}
	return ok, nil
}

// value is column c of the current row as the where expression sees it.
func (m *RowMatcher) value(c string) (any, bool) {
	p, ok := m.pos[c]
	if !ok || m.b.Null(p, m.i) {
		return nil, false
	}
	switch c {
	case "timestamp":
		return m.b.Time(p, m.i), true
	case "output_score":
		return m.b.Num(p, m.i), true
	}
	return m.b.Str(p, m.i), true
}

// ResolveName gives the where expression its variables from the current
// row (interpreter.Activation).
func (m *RowMatcher) ResolveName(name string) (any, bool) {
	fields, ok := whereFields[name]
	if !ok {
		return nil, false
	}
	if c, scalar := fields[""]; scalar {
		return m.value(c)
	}
	mp := m.maps[name]
	if mp == nil {
		mp = map[string]any{}
		m.maps[name] = mp
	}
	clear(mp)
	for f, c := range fields {
		if v, ok := m.value(c); ok {
			mp[f] = v
		}
	}
	return mp, true
}

// Parent is nil (interpreter.Activation).
func (m *RowMatcher) Parent() interpreter.Activation { return nil }

var _ interpreter.Activation = (*RowMatcher)(nil)
