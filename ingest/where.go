package ingest

import (
	"errors"
	"fmt"
	"time"

	"cel.dev/cel-go/cel"

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
	return &Where{prg: prg, expr: expr}, nil
}

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
