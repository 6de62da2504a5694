package ingest

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/checker"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/interpreter"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/reprise-dev/reprise/record"
)

// ErrWhere: the --where expression does not compile, does not type-check
// against the decision log's column types, is not a bool, or costs more
// than its cost limit.
var ErrWhere = errors.New("invalid where expression")

// ErrWhereCost: the evaluation of a --where expression on a record went
// over its cost limit (it wraps ErrWhere).
var ErrWhereCost = fmt.Errorf("%w: cost limit exceeded", ErrWhere)

// DefaultWhereCost is the default cost limit of a --where expression, in
// CEL cost units per row (about one per operation and per 10 bytes of
// string a function reads; some 3 million units take a second): an
// expression whose estimated cost is over it is refused when compiled, and
// one whose evaluation on a row goes over it stops there (see
// CostProblem). --where-cost-limit raises it.
const DefaultWhereCost = 1_000_000

// CostFlag is the flag that raises a --where expression's cost limit.
const CostFlag = "--where-cost-limit"

// The static cost estimate of a --where expression assumes strings of at
// most estimateStringBytes bytes (digests their 71) and an output.text of
// at most estimateTextBytes; longer values are held to the limit when the
// expression is evaluated on them.
const (
	estimateStringBytes = 1 << 10
	estimateTextBytes   = 1 << 20
)

// CostProblem is the Field of the row problem of a row on which the where
// expression went over its cost limit.
const CostProblem = "where cost"

// Where is a compiled CEL expression over a record. Its variables, with the
// types of their decision-log columns (record.ParquetSchema):
//
//	request_id      string
//	timestamp       timestamp
//	model, config   map(string, string): {name, version, digest}
//	system          map(string, string): {id, image}
//	input           map(string, string): {digest, media_type}
//	output          an object {label string, score double, text string, digest string} (label, score, text absent when unset)
//	protocol, hardware_class  string
//
// e.g. model.version == "2.4.1" && output.score < 0.7. The expression is
// type-checked against these types: output.score == "x" is refused when
// compiled, not false on every row. Reading a field the record does not
// have (output.score of a label-only record) is an evaluation error; guard
// it with has(output.score).
type Where struct {
	prg  cel.Program
	expr string
	// limit is the cost limit (CEL cost units per row); tracked is true
	// when each evaluation is held to it (the estimate depends on the
	// sizes of the record's strings; see CompileWhereCost).
	limit   uint64
	tracked bool
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

// columnType is the CEL type of a decision-log column, from its type in
// record.ParquetSchema: a timestamp, a double, an int or a string.
func columnType(col string) (*cel.Type, error) {
	leaf, ok := record.ParquetSchema().Lookup(col)
	if !ok {
		return nil, fmt.Errorf("column %s is not in the decision log's schema", col)
	}
	t := leaf.Node.Type()
	if lt := t.LogicalType(); lt != nil {
		if _, ts := lt.Value.(*format.TimestampType); ts {
			return cel.TimestampType, nil
		}
	}
	switch {
	case t.Kind() == parquet.ByteArray:
		return cel.StringType, nil
	case t.Kind() == parquet.Double || t.Kind() == parquet.Float:
		return cel.DoubleType, nil
	case t.Kind() == parquet.Int64 || t.Kind() == parquet.Int32:
		return cel.IntType, nil
	}
	return nil, fmt.Errorf("column %s: no CEL type for %s", col, t)
}

// outputType names the CEL object type of the output variable.
const outputType = "reprise.Output"

// whereSchema is what a where expression is checked against: the type of
// each variable (a scalar's column type; map(string, T) for a variable
// whose fields share the type T; an object type, outputType, for output,
// whose fields do not) and the types of output's fields.
type whereSchema struct {
	vars   map[string]*cel.Type
	fields map[string]*cel.Type // output's fields
}

var schemaOfWhere = sync.OnceValues(func() (*whereSchema, error) {
	s := &whereSchema{vars: map[string]*cel.Type{}, fields: map[string]*cel.Type{}}
	for v, fields := range whereFields {
		var types []*cel.Type
		for f, c := range fields {
			t, err := columnType(c)
			if err != nil {
				return nil, err
			}
			types = append(types, t)
			if v == "output" {
				s.fields[f] = t
			}
		}
		switch {
		case v == "output":
			s.vars[v] = cel.ObjectType(outputType)
		case len(fields) == 1 && fields[""] != "":
			s.vars[v] = types[0]
		default:
			for _, t := range types[1:] {
				if !t.IsExactType(types[0]) {
					return nil, fmt.Errorf("the fields of %s have different types", v)
				}
			}
			s.vars[v] = cel.MapType(cel.StringType, types[0])
		}
	}
	return s, nil
})

// describe lists the variables and their types, for an error message.
func (s *whereSchema) describe() string {
	var parts []string
	for _, v := range slices.Sorted(maps.Keys(s.vars)) {
		if v == "output" {
			for _, f := range slices.Sorted(maps.Keys(s.fields)) {
				parts = append(parts, "output."+f+" "+typeName(s.fields[f]))
			}
			continue
		}
		parts = append(parts, v+" "+typeName(s.vars[v]))
	}
	return strings.Join(parts, ", ")
}

// typeName is a CEL type's name as the CEL language spells it.
func typeName(t *cel.Type) string {
	if t.IsExactType(cel.TimestampType) {
		return "timestamp"
	}
	return t.String()
}

// whereProvider is the CEL type provider of a Where: the standard types,
// and outputType, whose values are the map[string]any of Match and
// RowMatcher (a field absent from the map is unset).
type whereProvider struct {
	*types.Registry
	s *whereSchema
}

func (p *whereProvider) FindStructType(name string) (*types.Type, bool) {
	if name == outputType {
		return types.NewTypeTypeWithParam(types.NewObjectType(outputType)), true
	}
	return p.Registry.FindStructType(name)
}

func (p *whereProvider) FindStructFieldNames(name string) ([]string, bool) {
	if name == outputType {
		return slices.Sorted(maps.Keys(p.s.fields)), true
	}
	return p.Registry.FindStructFieldNames(name)
}

func (p *whereProvider) FindStructFieldType(name, field string) (*types.FieldType, bool) {
	if name != outputType {
		return p.Registry.FindStructFieldType(name, field)
	}
	t, ok := p.s.fields[field]
	if !ok {
		return nil, false
	}
	return &types.FieldType{Type: t,
		IsSet: func(target any) bool {
			m, ok := target.(map[string]any)
			_, set := m[field]
			return ok && set
		},
		GetFrom: func(target any) (any, error) {
			m, _ := target.(map[string]any)
			v, ok := m[field]
			if !ok {
				return nil, fmt.Errorf("no such key: %s", field)
			}
			return v, nil
		}}, true
}

// costEstimator sizes the variables of a where expression for the static
// cost estimate: each map variable's number of fields, and strings as the
// constants above assume (or of any size, when anySize).
type costEstimator struct{ anySize bool }

func (c costEstimator) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	p := n.Path()
	if len(p) == 0 {
		return nil
	}
	fields, ok := whereFields[p[0]]
	if !ok {
		return nil
	}
	size := func(v uint64) *checker.SizeEstimate { return &checker.SizeEstimate{Min: 0, Max: v} }
	switch {
	case len(p) == 1 && p[0] != "output" && fields[""] == "":
		return &checker.SizeEstimate{Min: uint64(len(fields)), Max: uint64(len(fields))}
	case len(p) == 2 && p[1] == "@keys": // the field names
		longest := 0
		for f := range fields {
			longest = max(longest, len(f))
		}
		return size(uint64(longest))
	case c.anySize:
		return nil
	case len(p) == 2 && p[0] == "output" && p[1] == "text":
		return size(estimateTextBytes)
	}
	return size(estimateStringBytes)
}

func (c costEstimator) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

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

// CompileWhere compiles expr with the default cost limit
// (DefaultWhereCost); see CompileWhereCost.
func CompileWhere(expr string) (*Where, error) { return CompileWhereCost(expr, DefaultWhereCost) }

// CompileWhereCost compiles expr, type-checked against the decision log's
// column types (see Where); it must evaluate to a bool, and its estimated
// cost must not exceed limit (CEL cost units per row; 0 is
// DefaultWhereCost), which also bounds each evaluation whose cost depends
// on the sizes of the record's strings (an evaluation that goes over it is
// an error, see CostProblem and ErrWhereCost). Its errors wrap
// ErrWhere and name the expression (and the types, or the limit and
// CostFlag).
func CompileWhereCost(expr string, limit uint64) (*Where, error) {
	if limit == 0 {
		limit = DefaultWhereCost
	}
	s, err := schemaOfWhere()
	if err != nil {
		return nil, err
	}
	opts := []cel.EnvOption{cel.CustomTypeProvider(&whereProvider{Registry: types.NewEmptyRegistry(), s: s})}
	for _, v := range slices.Sorted(maps.Keys(s.vars)) {
		opts = append(opts, cel.Variable(v, s.vars[v]))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss.Err() != nil {
		return nil, fmt.Errorf("%w: %q does not compile against the decision log's column types (%s): %v", ErrWhere, expr, s.describe(), iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		return nil, fmt.Errorf("%w: %q is a %s, not a bool", ErrWhere, expr, ast.OutputType())
	}
	est, err := env.EstimateCost(ast, costEstimator{})
	if err != nil {
		return nil, fmt.Errorf("%w: %q: cost estimate: %v", ErrWhere, expr, err)
	}
	if est.Max > limit {
		return nil, fmt.Errorf("%w: %q: its estimated cost, up to %s per row, exceeds the cost limit of %d (raise it with %s)",
			ErrWhere, expr, costString(est.Max), limit, CostFlag)
	}
	popts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	// Tracking the cost of every evaluation takes several times as long as
	// the evaluation of a simple expression, so it is done only where the
	// estimate depends on the sizes of the record's strings: otherwise it is
	// a bound of every evaluation's cost, already within the limit.
	free, err := env.EstimateCost(ast, costEstimator{anySize: true})
	tracked := err != nil || free.Max > limit
	if tracked {
		popts = append(popts, cel.CostLimit(limit))
	}
	prg, err := env.Program(ast, popts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWhere, err)
	}
	return &Where{prg: prg, expr: expr, limit: limit, tracked: tracked, cols: referencedColumns(ast.NativeRep())}, nil
}

// costString prints an estimated cost ("unbounded" for one that is not).
func costString(c uint64) string {
	if c >= math.MaxUint64/2 {
		return "unbounded"
	}
	return strconv.FormatUint(c, 10)
}

// Limit is the expression's cost limit (CEL cost units per row).
func (w *Where) Limit() uint64 { return w.limit }

// evalError is the message of an evaluation error of w, and whether it is
// the cost limit's.
func (w *Where) evalError(err error) (string, bool) {
	var c interpreter.EvalCancelledError
	if errors.As(err, &c) && c.Cause == interpreter.CostLimitExceeded {
		return fmt.Sprintf("where %s: its evaluation went over the cost limit of %d (raise it with %s)", w.expr, w.limit, CostFlag), true
	}
	return fmt.Sprintf("where %s: %v", w.expr, err), false
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
		msg, cost := w.evalError(err)
		if cost {
			return false, fmt.Errorf("%w: %s", ErrWhereCost, msg)
		}
		return false, errors.New(msg)
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

// ErrSelection: a Selection that cannot be used: a --since, --until,
// cost limit or --where (the last also ErrWhere, when it does not compile).
var ErrSelection = errors.New("invalid selection")

type selectionError struct{ err error }

func (e *selectionError) Error() string        { return e.err.Error() }
func (e *selectionError) Unwrap() error        { return e.err }
func (e *selectionError) Is(target error) bool { return target == ErrSelection }

// Selection is a Filter as the user writes it: --where with its cost limit
// (CEL cost units per record), --since and --until (ParseTimeBound).
type Selection struct {
	Where, Since, Until string
	WhereCost           uint64
}

// Filter compiles the selection at time now. Its errors name the flag and
// match ErrSelection.
func (s Selection) Filter(now time.Time) (*Filter, error) {
	f := &Filter{}
	var err error
	if f.Time.Since, err = ParseTimeBound(s.Since, now); err != nil {
		return nil, &selectionError{fmt.Errorf("--since: %v", err)}
	}
	if f.Time.Until, err = ParseTimeBound(s.Until, now); err != nil {
		return nil, &selectionError{fmt.Errorf("--until: %v", err)}
	}
	if s.WhereCost == 0 {
		return nil, &selectionError{fmt.Errorf("%s must be at least 1", CostFlag)}
	}
	if s.Where != "" {
		if f.Where, err = CompileWhereCost(s.Where, s.WhereCost); err != nil {
			return nil, &selectionError{fmt.Errorf("--where: %w", err)}
		}
	}
	return f, nil
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
		msg, cost := w.evalError(err)
		field := "where"
		if cost {
			field = CostProblem
		}
		return false, []record.Problem{{Field: field, Message: msg}}
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
	} else if m.unchanged(fields, mp) {
		return mp, true // the previous row's values: nothing boxed again
	}
	clear(mp)
	for f, c := range fields {
		if v, ok := m.value(c); ok {
			mp[f] = v
		}
	}
	return mp, true
}

// unchanged reports whether mp, a map variable built for an earlier row,
// holds the current row's values of fields (a NULL absent), compared
// without boxing them.
func (m *RowMatcher) unchanged(fields map[string]string, mp map[string]any) bool {
	for f, c := range fields {
		p, ok := m.pos[c]
		if !ok {
			continue // a column the expression does not read: never in mp
		}
		prev, had := mp[f]
		if m.b.Null(p, m.i) {
			if had {
				return false
			}
			continue
		}
		if !had {
			return false
		}
		switch c {
		case "timestamp":
			return false
		case "output_score":
			if pf, _ := prev.(float64); math.Float64bits(pf) != math.Float64bits(m.b.Num(p, m.i)) {
				return false
			}
		default:
			if ps, _ := prev.(string); ps != m.b.Str(p, m.i) {
				return false
			}
		}
	}
	return true
}

// Parent is nil (interpreter.Activation).
func (m *RowMatcher) Parent() interpreter.Activation { return nil }

var _ interpreter.Activation = (*RowMatcher)(nil)
