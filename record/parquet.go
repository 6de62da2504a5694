package record

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/system"
)

// A Parquet decision log holds one record per row, the record's fields as
// flat columns (names below; every column OPTIONAL, so logs written by
// DuckDB, pyarrow or Spark read as they are). Strings are UTF8 byte arrays,
// numbers DOUBLE or INT64 (INT32 and FLOAT read too), and timestamp is an
// INT64 TIMESTAMP in milliseconds, microseconds or nanoseconds, adjusted to
// UTC or not (a timestamp not adjusted to UTC is read as UTC wall time).
// components, env, env_vars and limits are JSON text.
//
// Required columns (a NULL there is a row error, never "" or 0):
// request_id, timestamp, input_digest, input_media_type, system_id,
// system_image, model_name, model_version, model_digest, config_name,
// config_version, config_digest, protocol, hardware_class, output_digest.
// schema may be absent (the log is then v1); a NULL where it is present is
// a row error.
var ParquetColumns = []string{
	"schema", "request_id", "timestamp", "input_digest", "input_media_type",
	"params_seed", "params_temperature", "params_top_p", "params_max_tokens",
	"system_id", "system_image", "model_name", "model_version", "model_digest",
	"config_name", "config_version", "config_digest", "components",
	"protocol", "hardware_class", "env", "env_vars", "limits",
	"output_label", "output_score", "output_text", "output_digest", "eval_suite",
	"reprise_version",
}

// ParquetRowGroupRows is the number of rows per row group ParquetWriter writes.
const ParquetRowGroupRows = 128 << 10

// ParquetPageBytes is the uncompressed size of the pages ParquetWriter
// writes: small enough that drawing a row decodes little besides it.
const ParquetPageBytes = 32 << 10

// ParquetSchema is the schema ParquetWriter writes.
func ParquetSchema() *parquet.Schema {
	str := parquet.Optional(parquet.String())
	g := parquet.Group{}
	for _, c := range ParquetColumns {
		g[c] = str
	}
	g["timestamp"] = parquet.Optional(parquet.Timestamp(parquet.Microsecond))
	g["params_seed"] = parquet.Optional(parquet.Int(64))
	g["params_max_tokens"] = parquet.Optional(parquet.Int(64))
	g["params_temperature"] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
	g["params_top_p"] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
	g["output_score"] = parquet.Optional(parquet.Leaf(parquet.DoubleType))
	return parquet.NewSchema("reprise_decision_v1", g)
}

// ParquetWriter writes records as a Parquet decision log (zstd, 128k-row
// groups). Close must be called to write the footer.
type ParquetWriter struct {
	w      *parquet.GenericWriter[any]
	col    map[string]int
	buf    []parquet.Row
	closed bool
}

// NewParquetWriter starts a decision log on w. Options, when given, are
// applied after the defaults (tests use smaller row groups and pages).
func NewParquetWriter(w io.Writer, opts ...parquet.WriterOption) *ParquetWriter {
	s := ParquetSchema()
	opts = append([]parquet.WriterOption{s, parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(ParquetRowGroupRows), parquet.PageBufferSize(ParquetPageBytes)}, opts...)
	pw := &ParquetWriter{
		w:   parquet.NewGenericWriter[any](w, opts...),
		col: map[string]int{},
	}
	for _, c := range ParquetColumns {
		leaf, _ := s.Lookup(c)
		pw.col[c] = leaf.ColumnIndex
	}
	return pw
}

// Write appends one record (it is not validated here).
func (pw *ParquetWriter) Write(r *Record) error {
	row := make(parquet.Row, len(ParquetColumns))
	set := func(name string, v parquet.Value, null bool) {
		i := pw.col[name]
		if null {
			row[i] = parquet.NullValue().Level(0, 0, i)
		} else {
			row[i] = v.Level(0, 1, i)
		}
	}
	str := func(name, s string) { set(name, parquet.ByteArrayValue([]byte(s)), s == "") }
	dig := func(name string, d digest.Digest) { str(name, digestString(d)) }
	js := func(name string, v any, empty bool) {
		if empty {
			set(name, parquet.Value{}, true)
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			b = nil
		}
		str(name, string(b))
	}
	str("schema", r.Schema)
	str("request_id", r.RequestID)
	set("timestamp", parquet.Int64Value(r.Timestamp.UnixMicro()), r.Timestamp.IsZero())
	dig("input_digest", r.Input.Digest)
	str("input_media_type", r.Input.MediaType)
	p := r.Params
	set("params_seed", int64Val(p.Seed), p.Seed == nil)
	set("params_temperature", floatVal(p.Temperature), p.Temperature == nil)
	set("params_top_p", floatVal(p.TopP), p.TopP == nil)
	var mt *int64
	if p.MaxTokens != nil {
		v := int64(*p.MaxTokens)
		mt = &v
	}
	set("params_max_tokens", int64Val(mt), mt == nil)
	s := r.System
	dig("system_id", s.ID)
	if s.Image.IsZero() {
		str("system_image", "")
	} else {
		str("system_image", s.Image.String())
	}
	str("model_name", s.Model.Name)
	str("model_version", s.Model.Version)
	dig("model_digest", s.Model.Digest)
	str("config_name", s.Config.Name)
	str("config_version", s.Config.Version)
	dig("config_digest", s.Config.Digest)
	js("components", s.Components, len(s.Components) == 0)
	str("protocol", r.Runtime.Protocol)
	str("hardware_class", r.Runtime.HardwareClass)
	js("env", r.Runtime.Env, r.Runtime.Env == nil)
	js("env_vars", r.Runtime.EnvVars, len(r.Runtime.EnvVars) == 0)
	js("limits", r.Runtime.Limits, r.Runtime.Limits == nil)
	o := r.Output
	set("output_label", strVal(o.Label), o.Label == nil)
	set("output_score", floatVal(o.Score), o.Score == nil)
	set("output_text", strVal(o.Text), o.Text == nil)
	dig("output_digest", o.Digest)
	dig("eval_suite", r.EvalSuite)
	str("reprise_version", r.RepriseVersion)
	pw.buf = append(pw.buf, row)
	if len(pw.buf) >= 1024 {
		return pw.flush()
	}
	return nil
}

func (pw *ParquetWriter) flush() error {
	if len(pw.buf) == 0 {
		return nil
	}
	_, err := pw.w.WriteRows(pw.buf)
	pw.buf = pw.buf[:0]
	return err
}

// Close flushes the rows and writes the footer; it does not close the
// underlying writer.
func (pw *ParquetWriter) Close() error {
	if pw.closed {
		return nil
	}
	pw.closed = true
	if err := pw.flush(); err != nil {
		return err
	}
	return pw.w.Close()
}

func digestString(d digest.Digest) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

func int64Val(p *int64) parquet.Value {
	if p == nil {
		return parquet.Value{}
	}
	return parquet.Int64Value(*p)
}

func floatVal(p *float64) parquet.Value {
	if p == nil {
		return parquet.Value{}
	}
	return parquet.DoubleValue(*p)
}

func strVal(p *string) parquet.Value {
	if p == nil {
		return parquet.Value{}
	}
	return parquet.ByteArrayValue([]byte(*p))
}

// RowError is one row of a decision log that is not a valid record: its
// 1-based row number in the file (or line, for JSON Lines) and why.
type RowError struct {
	Row      int64     `json:"row"`
	Problems []Problem `json:"problems"`
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d: %s", e.Row, (&Error{Problems: e.Problems}).Error())
}

// Unwrap returns ErrMalformed or ErrIntegrity.
func (e *RowError) Unwrap() error { return (&Error{Problems: e.Problems}).Unwrap() }

// ErrNotLog: the file is not a readable Parquet decision log (not Parquet,
// or a required column is missing or of the wrong type).
var ErrNotLog = errors.New("not a Parquet decision log")

// ParquetLog reads a Parquet decision log row group by row group, holding
// at most one batch of rows in memory.
type ParquetLog struct {
	f    *parquet.File
	cols map[string]logCol
	// noIndex makes DecodeRows read pages in order as if the log had no
	// page index (tests).
	noIndex bool
	// pos maps a file column index to its position in ParquetColumns (-1
	// for a column the log does not use).
	pos []int
}

type imageParse struct {
	ref system.ImageRef
	err error
}

// colPos is the position of each name in ParquetColumns.
var colPos = func() map[string]int {
	m := map[string]int{}
	for i, c := range ParquetColumns {
		m[c] = i
	}
	return m
}()

type logCol struct {
	index int
	kind  parquet.Kind
	// unit is the timestamp unit in nanoseconds (1e3 for micros); 0 when
	// the column is not a timestamp.
	unit int64
}

// looksJSON reports whether the first non-blank byte of r is '{' or '['
// (a JSON Lines log given where a Parquet log belongs: Parquet begins with
// "PAR1").
func looksJSON(r io.ReaderAt, size int64) bool {
	b := make([]byte, min(size, 512))
	n, _ := r.ReadAt(b, 0)
	t := bytes.TrimLeft(b[:n], " \t\r\n\ufeff")
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// OpenParquetLog opens the decision log in r (size bytes) within the
// default ParquetLimits. Every column except the required ones may be
// absent.
func OpenParquetLog(r io.ReaderAt, size int64) (*ParquetLog, error) {
	return OpenParquetLogContext(context.Background(), r, size, ParquetLimits{})
}

// OpenParquetLogContext opens the decision log in r (size bytes) after
// CheckParquet: a page over lim is a *PageError (wrapping
// ErrParquetLimit), a file that is not a log wraps ErrNotLog; ctx stops
// the check.
func OpenParquetLogContext(ctx context.Context, r io.ReaderAt, size int64, lim ParquetLimits) (*ParquetLog, error) {
	if looksJSON(r, size) {
		return nil, fmt.Errorf("%w: it is JSON (Lines), not Parquet: import a JSON Lines decision log first (reprise record import --log FILE --versions MAP -o records.parquet), then replay the Parquet log it writes", ErrNotLog)
	}
	// The page index is not read here: DecodeRows reads the offset index
	// of the column chunks it needs, to seek to the pages of its rows.
	if err := CheckParquet(ctx, r, size, lim); err != nil {
		return nil, err
	}
	f, err := parquet.OpenFile(r, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotLog, err)
	}
	l := &ParquetLog{f: f, cols: map[string]logCol{}}
	for _, name := range ParquetColumns {
		leaf, ok := f.Schema().Lookup(name)
		if !ok {
			continue
		}
		if leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("%w: column %s is repeated", ErrNotLog, name)
		}
		c := logCol{index: leaf.ColumnIndex, kind: leaf.Node.Type().Kind()}
		if name == "timestamp" {
			var ts *format.TimestampType
			if lt := leaf.Node.Type().LogicalType(); lt != nil {
				ts, _ = lt.Value.(*format.TimestampType)
			}
			if c.kind != parquet.Int64 || ts == nil {
				return nil, fmt.Errorf("%w: column timestamp must be an INT64 TIMESTAMP", ErrNotLog)
			}
			switch ts.Unit.Value.(type) {
			case *format.MilliSeconds:
				c.unit = 1e6
			case *format.MicroSeconds:
				c.unit = 1e3
			default:
				c.unit = 1
			}
		}
		l.cols[name] = c
	}
	l.pos = make([]int, len(f.Schema().Columns()))
	for i := range l.pos {
		l.pos[i] = -1
	}
	for name, c := range l.cols {
		l.pos[c.index] = colPos[name]
	}
	for _, name := range requiredColumns {
		if _, ok := l.cols[name]; !ok {
			return nil, fmt.Errorf("%w: required column %s is missing", ErrNotLog, name)
		}
	}
	return l, nil
}

var requiredColumns = []string{"request_id", "timestamp", "input_digest", "input_media_type", "system_id",
	"system_image", "model_name", "model_version", "model_digest", "config_name", "config_version",
	"config_digest", "protocol", "hardware_class", "output_digest"}

// NumRowGroups is the number of row groups in the log.
func (l *ParquetLog) NumRowGroups() int { return len(l.f.RowGroups()) }

// TimeRange is a half-open interval [Since, Until) of decision times; a
// zero bound is open.
type TimeRange struct {
	Since, Until time.Time
}

// Contains reports whether t lies in the range.
func (tr TimeRange) Contains(t time.Time) bool {
	return (tr.Since.IsZero() || !t.Before(tr.Since)) && (tr.Until.IsZero() || t.Before(tr.Until))
}

// ScanOptions restrict a scan.
type ScanOptions struct {
	// Time skips row groups whose timestamp statistics lie wholly outside
	// it and rows outside it (rows with a NULL timestamp are still yielded,
	// as row errors).
	Time TimeRange
	// Keep, when set, is called with the row's raw values before a record
	// is built; rows it rejects are skipped without being decoded.
	// (Unused today; reserved.)
}

// Scan reads the log in file order and calls yield with each row's 1-based
// number and its record, or a *RowError for a row that is not a valid
// record. yield returning false stops the scan. Errors returned are I/O or
// format errors of the file itself.
func (l *ParquetLog) Scan(opts ScanOptions, yield func(row int64, rec *Record, err error) bool) error {
	tsCol := l.cols["timestamp"]
	timed := !opts.Time.Since.IsZero() || !opts.Time.Until.IsZero()
	var base int64
	buf := make([]parquet.Row, 512)
	d := l.newDecoder()
	for gi, rg := range l.f.RowGroups() {
		n := rg.NumRows()
		if !l.groupMayMatch(gi, tsCol, opts.Time) {
			base += n
			continue
		}
		rows := rg.Rows()
		var read int64
		for read < n {
			k, err := rows.ReadRows(buf)
			for i := 0; i < k; i++ {
				rowNum := base + read + int64(i) + 1
				if timed && !l.inRange(buf[i], tsCol, opts.Time) {
					continue // outside the time range: not decoded
				}
				rec, probs := d.decode(buf[i])
				if len(probs) > 0 {
					if !yield(rowNum, nil, &RowError{Row: rowNum, Problems: probs}) {
						rows.Close()
						return nil
					}
					continue
				}
				if !yield(rowNum, rec, nil) {
					rows.Close()
					return nil
				}
			}
			read += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("row group %d: %w", gi, err)
			}
		}
		rows.Close()
		base += n
	}
	return nil
}

// inRange reports whether the row's timestamp lies in tr; a row with a
// NULL timestamp is kept (it becomes a row error).
func (l *ParquetLog) inRange(row parquet.Row, c logCol, tr TimeRange) bool {
	for _, v := range row {
		if v.Column() == c.index {
			if v.IsNull() {
				return true
			}
			return tr.Contains(time.Unix(0, v.Int64()*c.unit))
		}
	}
	return true
}

// groupMayMatch uses the row group's timestamp statistics (min/max) to
// tell whether any of its rows can lie in tr.
func (l *ParquetLog) groupMayMatch(gi int, c logCol, tr TimeRange) bool {
	if tr.Since.IsZero() && tr.Until.IsZero() {
		return true
	}
	md := l.f.Metadata()
	if gi >= len(md.RowGroups) || c.index >= len(md.RowGroups[gi].Columns) {
		return true
	}
	st := md.RowGroups[gi].Columns[c.index].MetaData.Statistics
	lo, hi := statBytes(st)
	if len(lo) != 8 || len(hi) != 8 {
		return true
	}
	minT := time.Unix(0, int64(binary.LittleEndian.Uint64(lo))*c.unit)
	maxT := time.Unix(0, int64(binary.LittleEndian.Uint64(hi))*c.unit)
	if !tr.Since.IsZero() && maxT.Before(tr.Since) {
		return false
	}
	if !tr.Until.IsZero() && !minT.Before(tr.Until) {
		return false
	}
	return true
}

func statBytes(st format.Statistics) (lo, hi []byte) {
	if st.MinValue != nil && st.MaxValue != nil {
		return st.MinValue, st.MaxValue
	}
	return st.Min, st.Max
}

// rowDecoder builds records from rows; one per goroutine.
type rowDecoder struct {
	l    *ParquetLog
	vals []parquet.Value
	// images caches parsed image references (a log holds few).
	images map[string]imageParse
}

func (l *ParquetLog) newDecoder() *rowDecoder {
	return &rowDecoder{l: l, vals: make([]parquet.Value, len(ParquetColumns))}
}

// decode builds a record from one row and validates it; problems name the
// columns (a NULL in a required column, a value of the wrong kind, bad
// JSON text) or the record's fields.
func (d *rowDecoder) decode(row parquet.Row) (*Record, []Problem) {
	rec, probs := d.build(row)
	if len(probs) == 0 {
		probs = rec.Validate()
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return rec, nil
}

func (d *rowDecoder) build(row parquet.Row) (*Record, []Problem) {
	l, vals := d.l, d.vals
	clear(vals)
	for _, v := range row {
		if c := v.Column(); c >= 0 && c < len(l.pos) && l.pos[c] >= 0 {
			vals[l.pos[c]] = v
		}
	}
	var probs []Problem
	bad := func(field, format string, a ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	get := func(name string) (parquet.Value, bool) {
		j := colPos[name]
		return vals[j], !vals[j].IsNull()
	}
	str := func(name string, required bool) *string {
		v, ok := get(name)
		if !ok {
			if required {
				bad(name, "NULL in a required column")
			}
			return nil
		}
		if v.Kind() != parquet.ByteArray && v.Kind() != parquet.FixedLenByteArray {
			bad(name, "not a string column")
			return nil
		}
		s := string(v.ByteArray())
		return &s
	}
	req := func(name string) string {
		if p := str(name, true); p != nil {
			return *p
		}
		return ""
	}
	num := func(name string) *float64 {
		v, ok := get(name)
		if !ok {
			return nil
		}
		var f float64
		switch v.Kind() {
		case parquet.Double:
			f = v.Double()
		case parquet.Float:
			f = float64(v.Float())
		case parquet.Int64:
			f = float64(v.Int64())
		case parquet.Int32:
			f = float64(v.Int32())
		default:
			bad(name, "not a number column")
			return nil
		}
		return &f
	}
	integer := func(name string) *int64 {
		v, ok := get(name)
		if !ok {
			return nil
		}
		var i int64
		switch v.Kind() {
		case parquet.Int64:
			i = v.Int64()
		case parquet.Int32:
			i = int64(v.Int32())
		case parquet.Double:
			f := v.Double()
			if f != math.Trunc(f) || math.Abs(f) > 1<<62 {
				bad(name, "not an integer: %v", f)
				return nil
			}
			i = int64(f)
		default:
			bad(name, "not an integer column")
			return nil
		}
		return &i
	}
	dig := func(name string, required bool) digest.Digest {
		p := str(name, required)
		if p == nil {
			return digest.Digest{}
		}
		d, err := digest.Parse(*p)
		if err != nil {
			bad(name, "%v", err)
		}
		return d
	}
	jsonCol := func(name string, into any) {
		if p := str(name, false); p != nil {
			if err := json.Unmarshal([]byte(*p), into); err != nil {
				bad(name, "not valid JSON: %v", err)
			}
		}
	}
	rec := &Record{Schema: Schema}
	if _, present := l.cols["schema"]; present {
		rec.Schema = req("schema")
	}
	rec.RequestID = req("request_id")
	if v, ok := get("timestamp"); ok {
		rec.Timestamp = time.Unix(0, v.Int64()*l.cols["timestamp"].unit).UTC()
	} else {
		bad("timestamp", "NULL in a required column")
	}
	rec.Input.Digest = dig("input_digest", true)
	rec.Input.MediaType = req("input_media_type")
	rec.Params.Seed = integer("params_seed")
	rec.Params.Temperature = num("params_temperature")
	rec.Params.TopP = num("params_top_p")
	if mt := integer("params_max_tokens"); mt != nil {
		if *mt > math.MaxInt32 || *mt < math.MinInt32 {
			bad("params_max_tokens", "out of range")
		} else {
			v := int(*mt)
			rec.Params.MaxTokens = &v
		}
	}
	rec.System.ID = dig("system_id", true)
	if p := str("system_image", true); p != nil {
		ip, ok := d.images[*p]
		if !ok {
			ip.ref, ip.err = system.ParseImageRef(*p)
			if d.images == nil || len(d.images) > 4096 {
				d.images = map[string]imageParse{}
			}
			d.images[*p] = ip
		}
		img, err := ip.ref, ip.err
		if err != nil {
			kind := Malformed
			if errors.Is(err, system.ErrNotPinned) {
				kind = Integrity
			}
			probs = append(probs, Problem{Field: "system_image", Message: err.Error(), Kind: kind})
		}
		rec.System.Image = img
	}
	rec.System.Model = system.Artifact{Name: req("model_name"), Version: req("model_version"), Digest: dig("model_digest", true)}
	rec.System.Config = system.Artifact{Name: req("config_name"), Version: req("config_version"), Digest: dig("config_digest", true)}
	jsonCol("components", &rec.System.Components)
	rec.Runtime.Protocol = req("protocol")
	rec.Runtime.HardwareClass = req("hardware_class")
	jsonCol("env", &rec.Runtime.Env)
	jsonCol("env_vars", &rec.Runtime.EnvVars)
	jsonCol("limits", &rec.Runtime.Limits)
	rec.Output.Output = output.Output{Label: str("output_label", false), Score: num("output_score"), Text: str("output_text", false)}
	rec.Output.Digest = dig("output_digest", true)
	rec.EvalSuite = dig("eval_suite", false)
	if v := str("reprise_version", false); v != nil {
		rec.RepriseVersion = *v
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return rec, nil
}

// ColumnBatch holds one row group's values of the columns a ScanColumns
// reads, by position in the names it was given. Its slices are reused for
// the next row group; its strings may be kept.
type ColumnBatch struct {
	// Group is the 0-based row group index, First the 1-based row number
	// of its first row, Len its number of rows.
	Group int
	First int64
	Len   int
	cols  []batchCol
}

type batchCol struct {
	name   string
	absent bool // the log has no such column: all NULL
	mode   int  // modeStr, modeNum, modeTime
	kind   parquet.Kind
	unit   int64 // timestamps: nanoseconds per unit
	null   []bool
	str    []string
	num    []float64
	i64    []int64
}

// Null reports whether column c of row i is NULL.
func (b *ColumnBatch) Null(c, i int) bool { return b.cols[c].null[i] }

// Str is the value of string column c in row i ("" when NULL).
func (b *ColumnBatch) Str(c, i int) string { return b.cols[c].str[i] }

// Num is the value of number column c in row i as a float64 (0 when NULL).
func (b *ColumnBatch) Num(c, i int) float64 { return b.cols[c].num[i] }

// Time is the value of the timestamp column c in row i (the zero time
// when NULL); the time is in UTC.
func (b *ColumnBatch) Time(c, i int) time.Time {
	if b.cols[c].null[i] {
		return time.Time{}
	}
	return time.Unix(0, b.cols[c].i64[i]).UTC()
}

// UnixNano is the timestamp column c of row i in nanoseconds since the Unix
// epoch (0 when NULL).
func (b *ColumnBatch) UnixNano(c, i int) int64 { return b.cols[c].i64[i] }

// What a batchCol holds.
const (
	modeStr = iota
	modeNum
	modeTime
)

// column kinds a ColumnBatch holds.
var (
	timeColumns   = map[string]bool{"timestamp": true}
	numberColumns = map[string]bool{"params_temperature": true, "params_top_p": true, "output_score": true,
		"params_seed": true, "params_max_tokens": true}
)

// ScanColumns reads only the named columns of the log (names from
// ParquetColumns; timestamp as a time, output_score and params_* as
// numbers, the others as strings), column chunk by column chunk, and calls
// fn once per row group with their values. Row groups whose timestamp
// statistics lie wholly outside opts.Time are skipped (their rows are not
// read); rows of the groups read are all given, in or out of the range.
// Up to workers row groups are read at once, each by its own goroutine
// (worker in [0, workers)); fn is called concurrently from different
// workers, never concurrently for one worker, and in no particular order of
// groups. The first error fn returns stops the scan and is returned. A
// column of ParquetColumns the log does not have reads as NULL in every
// row; a name not in ParquetColumns, or a column of the wrong type, is an
// ErrNotLog.
func (l *ParquetLog) ScanColumns(names []string, opts ScanOptions, workers int, fn func(worker int, b *ColumnBatch) error) error {
	proto := make([]batchCol, len(names))
	for i, name := range names {
		if _, known := colPos[name]; !known {
			return fmt.Errorf("%w: no column %s in a decision log", ErrNotLog, name)
		}
		c, ok := l.cols[name]
		if !ok {
			// A column the log does not have (only optional ones may be
			// missing): every row NULL, as the full decode reads it.
			c = logCol{index: -1, kind: parquet.ByteArray}
			if numberColumns[name] {
				c.kind = parquet.Double
			}
		}
		bc := batchCol{name: name, kind: c.kind, unit: c.unit, absent: !ok}
		switch {
		case timeColumns[name]:
			bc.mode = modeTime
		case numberColumns[name]:
			bc.mode = modeNum
			switch c.kind {
			case parquet.Double, parquet.Float, parquet.Int64, parquet.Int32:
			default:
				return fmt.Errorf("%w: column %s is %s, not a number", ErrNotLog, name, c.kind)
			}
		default:
			if c.kind != parquet.ByteArray && c.kind != parquet.FixedLenByteArray {
				return fmt.Errorf("%w: column %s is %s, not a string", ErrNotLog, name, c.kind)
			}
		}
		proto[i] = bc
	}
	tsCol := l.cols["timestamp"]
	var groups []int
	first := make([]int64, 0, len(l.f.RowGroups()))
	var base int64
	for gi, rg := range l.f.RowGroups() {
		first = append(first, base+1)
		base += rg.NumRows()
		if l.groupMayMatch(gi, tsCol, opts.Time) {
			groups = append(groups, gi)
		}
	}
	workers = max(1, min(workers, len(groups)))
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		next.Store(int64(len(groups))) // no more groups for anyone
	}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := &ColumnBatch{cols: slices.Clone(proto)}
			vbuf := make([]parquet.Value, 1024)
			intern := &interner{m: map[string]string{}}
			for {
				k := int(next.Add(1) - 1)
				if k >= len(groups) {
					return
				}
				gi := groups[k]
				rg := l.f.RowGroups()[gi]
				b.Group, b.First, b.Len = gi, first[gi], int(rg.NumRows())
				for ci, name := range names {
					if b.cols[ci].absent {
						b.cols[ci].nulls(b.Len)
						continue
					}
					if err := readColumn(rg.ColumnChunks()[l.cols[name].index], &b.cols[ci], b.Len, vbuf, intern); err != nil {
						fail(fmt.Errorf("row group %d column %s: %w", gi, name, err))
						return
					}
				}
				if len(intern.m) > 1<<16 {
					*intern = interner{m: map[string]string{}}
				}
				if err := fn(w, b); err != nil {
					fail(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// size makes c hold n rows.
func (c *batchCol) size(n int) {
	c.null = grow(c.null, n)
	switch c.mode {
	case modeTime:
		c.i64 = grow(c.i64, n)
	case modeNum:
		c.num = grow(c.num, n)
	default:
		c.str = grow(c.str, n)
	}
}

// nulls makes c n NULL rows.
func (c *batchCol) nulls(n int) {
	c.size(n)
	for i := range n {
		c.null[i] = true
	}
	clear(c.i64)
	clear(c.num)
	clear(c.str)
}

// readColumn reads one column chunk of n rows into c.
func readColumn(cc parquet.ColumnChunk, c *batchCol, n int, vbuf []parquet.Value, intern *interner) error {
	c.size(n)
	pages := cc.Pages()
	defer pages.Close()
	i := 0
	for {
		p, err := pages.ReadPage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		vr := p.Values()
		for {
			k, err := vr.ReadValues(vbuf)
			if i+k > n {
				parquet.Release(p)
				return fmt.Errorf("more values than the row group's %d rows", n)
			}
			for _, v := range vbuf[:k] {
				null := v.IsNull()
				c.null[i] = null
				switch c.mode {
				case modeTime:
					if !null {
						c.i64[i] = v.Int64() * c.unit
					} else {
						c.i64[i] = 0
					}
				case modeNum:
					c.num[i] = 0
					if !null {
						switch c.kind {
						case parquet.Double:
							c.num[i] = v.Double()
						case parquet.Float:
							c.num[i] = float64(v.Float())
						case parquet.Int64:
							c.num[i] = float64(v.Int64())
						case parquet.Int32:
							c.num[i] = float64(v.Int32())
						}
					}
				default:
					c.str[i] = ""
					if !null {
						c.str[i] = intern.get(v.ByteArray())
					}
				}
				i++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				parquet.Release(p)
				return err
			}
		}
		parquet.Release(p)
	}
	if i != n {
		return fmt.Errorf("%d values for the row group's %d rows", i, n)
	}
	return nil
}

// interner returns one string per distinct byte string: a small cache
// indexed by a few of the bytes answers the few values of a low-cardinality
// column (model versions, labels) without hashing; a map the others.
type interner struct {
	m     map[string]string
	cache [64]string
}

func (in *interner) get(b []byte) string {
	n := len(b)
	if n == 0 {
		return ""
	}
	e := &in.cache[(n*131+int(b[0])*31+int(b[n/2])*17+int(b[n-1]))%len(in.cache)]
	if *e == string(b) {
		return *e
	}
	s, ok := in.m[string(b)]
	if !ok {
		s = string(b)
		in.m[s] = s
	}
	*e = s
	return s
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// DecodedRow is one row DecodeRows read: its record, or why it is not a
// valid record.
type DecodedRow struct {
	Row int64
	Rec *Record
	Err *RowError
}

// DecodeRows reads and decodes the rows with the given 1-based numbers
// (in any order; each once), seeking to the pages that hold them (through
// the page index when the log has one), with up to workers goroutines,
// fewer when their column chunks would not fit in DecodeMemory; each
// reads one column of one row group at a time (decodeSpan). The
// result is in ascending row order. Errors are I/O or format errors of the
// file, or a row number outside the log.
func (l *ParquetLog) DecodeRows(rows []int64, workers int) ([]DecodedRow, error) {
	rows = slices.Clone(rows)
	slices.Sort(rows)
	out := make([]DecodedRow, len(rows))
	rgs := l.f.RowGroups()
	// spans[g] is the range of rows (indexes into rows) in row group g.
	type span struct{ g, lo, hi int }
	var spans []span
	var base int64
	j := 0
	for gi, rg := range rgs {
		end := base + rg.NumRows()
		lo := j
		for j < len(rows) && rows[j] <= end {
			if rows[j] <= base {
				return nil, fmt.Errorf("row %d: not in the log", rows[j])
			}
			j++
		}
		if j > lo {
			spans = append(spans, span{gi, lo, j})
		}
		base = end
	}
	if j < len(rows) {
		return nil, fmt.Errorf("row %d: not in the log (%d rows)", rows[j], base)
	}
	firsts := make([]int64, len(rgs))
	base = 0
	for gi, rg := range rgs {
		firsts[gi] = base
		base += rg.NumRows()
	}
	groups := make([]int, len(spans))
	for i, sp := range spans {
		groups[i] = sp.g
	}
	workers = max(1, min(workers, len(spans), l.decodersWithin(DecodeMemory, groups)))
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := l.newDecoder()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(spans) {
					return
				}
				sp := spans[k]
				err := l.decodeSpan(d, rgs[sp.g], sp.g, firsts[sp.g], rows[sp.lo:sp.hi], out[sp.lo:sp.hi])
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(len(spans)))
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// DecodeMemory is what DecodeRows lets its decoders hold at once, in
// bytes: as many run at once as the largest column chunk of the row groups
// they read (compressed and uncompressed, what one decoder holds of it at
// most) fits in it, at least one.
const DecodeMemory = 96 << 20

// decodersWithin is how many decoders of the row groups fit in budget
// bytes (see DecodeMemory).
func (l *ParquetLog) decodersWithin(budget int64, groups []int) int {
	md := l.f.Metadata()
	var worst int64
	for _, g := range groups {
		if g >= len(md.RowGroups) {
			continue
		}
		for _, c := range l.usedColumns() {
			if c < len(md.RowGroups[g].Columns) {
				m := &md.RowGroups[g].Columns[c].MetaData
				worst = max(worst, m.TotalCompressedSize+m.TotalUncompressedSize)
			}
		}
	}
	if worst <= 0 {
		return math.MaxInt
	}
	return int(max(1, budget/worst))
}

// decodeSpan decodes rows (1-based, ascending) of row group g (whose
// first row is first+1) into out, one column at a time: each column's
// pages are read up to its last row asked, its values kept (copied), and
// its pages released before the next column is read, so a worker holds
// one column's page at a time, whatever the number of columns.
func (l *ParquetLog) decodeSpan(d *rowDecoder, rg parquet.RowGroup, g int, first int64, rows []int64, out []DecodedRow) error {
	for x := 1; x < len(rows); x++ {
		if rows[x] == rows[x-1] {
			return fmt.Errorf("row %d: asked twice", rows[x])
		}
	}
	cols := l.usedColumns()
	vals := make([]parquet.Value, len(rows)*len(cols))
	for ci, c := range cols {
		cc := rg.ColumnChunks()[c]
		_, ierr := cc.OffsetIndex()
		cur := &colCursor{pages: cc.Pages(), indexed: ierr == nil && !l.noIndex}
		for x, r := range rows {
			v, err := cur.at(r - 1 - first)
			if err != nil {
				cur.close()
				return fmt.Errorf("row group %d: row %d: %w", g, r, err)
			}
			vals[x*len(cols)+ci] = v.Clone()
		}
		cur.close()
	}
	for x, r := range rows {
		rec, probs := d.decode(parquet.Row(vals[x*len(cols) : (x+1)*len(cols)]))
		out[x] = DecodedRow{Row: r, Rec: rec}
		if len(probs) > 0 {
			out[x].Err = &RowError{Row: r, Problems: probs}
		}
	}
	return nil
}

// usedColumns are the file's column indexes of the log's columns, in
// file order.
func (l *ParquetLog) usedColumns() []int {
	var cols []int
	for i, p := range l.pos {
		if p >= 0 {
			cols = append(cols, i)
		}
	}
	return cols
}

// close releases the cursor's page and closes its pages.
func (c *colCursor) close() {
	c.release()
	c.pages.Close()
}

// release gives the page back to parquet-go's pools (the values taken
// from it were copied).
func (c *colCursor) release() {
	if c.page != nil {
		parquet.Release(c.page)
		c.page = nil
	}
}

// colCursor reads single values of one column chunk at increasing row
// indexes, decoding only the pages that hold them when the chunk has an
// offset index (else every page up to the last row asked).
type colCursor struct {
	pages    parquet.Pages
	indexed  bool
	page     parquet.Page
	first, n int64 // row index of the page's first row, its number of rows
	buf      [1]parquet.Value
}

// at returns the value of row idx (0-based in the row group; idx never
// decreases from one call to the next).
func (c *colCursor) at(idx int64) (parquet.Value, error) {
	if c.page == nil || idx >= c.first+c.n {
		if c.indexed {
			if err := c.pages.SeekToRow(idx); err != nil {
				return parquet.Value{}, err
			}
			p, err := c.pages.ReadPage()
			if err != nil {
				return parquet.Value{}, err
			}
			c.release()
			c.page, c.first, c.n = p, idx, p.NumRows()
		} else {
			for c.page == nil || idx >= c.first+c.n {
				if c.page != nil {
					c.first += c.n
				}
				p, err := c.pages.ReadPage()
				if err != nil {
					return parquet.Value{}, err
				}
				c.release()
				c.page, c.n = p, p.NumRows()
			}
		}
	}
	if idx < c.first {
		return parquet.Value{}, fmt.Errorf("row %d before row %d", idx, c.first)
	}
	off := idx - c.first
	k, err := c.page.Slice(off, off+1).Values().ReadValues(c.buf[:])
	if k != 1 {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return parquet.Value{}, err
	}
	return c.buf[0], nil
}
