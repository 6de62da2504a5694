package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/reprise-dev/reprise/buildinfo"
	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/output"
	"github.com/reprise-dev/reprise/record"
)

// Inputs is what import needs of the artifact store: whether an input's
// bytes are there (and verify).
type Inputs interface {
	Verify(ctx context.Context, d digest.Digest) (int64, error)
}

// ErrLog: the log file cannot be read at all (not JSON Lines nor Parquet,
// an I/O error).
var ErrLog = errors.New("unreadable decision log")

// MinTimestamp and MaxTimestamp bound the decision times import accepts,
// [MinTimestamp, MaxTimestamp): a time outside (a sentinel such as
// 9999-12-31 or 0000-01-01, an epoch 0) is a row error.
var (
	MinTimestamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTimestamp = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Row is one raw log row: its columns (a nested object's or struct's
// members joined with ".": "output.decision"; a flat export's as they are:
// "output_decision") to values (string, json.Number for a JSON number,
// float64, int64, bool, time.Time or nil). A JSON number stays as written,
// so a seed is read exactly whichever column holds it.
type Row map[string]any

// Importer resolves raw log rows into records.
type Importer struct {
	Map    *VersionMap
	Inputs Inputs
	// Columns says which of the log's columns hold each field (nil: the
	// defaults, nested output.decision or flat output_decision alike).
	Columns *ColumnMap
	// Limits bound what a Parquet log may make the import allocate (the
	// zero value is record.DefaultMaxPageSize).
	Limits record.ParquetLimits
	// checked caches inputs already found in the store.
	checked map[digest.Digest]error
}

// Resolve turns one raw row (keyed by its columns) into a record, or the
// problems that stop it, each naming the field (Fields) it is about.
func (im *Importer) Resolve(ctx context.Context, row Row) (*record.Record, []record.Problem) {
	row, probs := im.Columns.apply(row)
	r := &resolution{im: im, row: row, rec: &record.Record{Schema: record.Schema, RepriseVersion: buildinfo.Version()}, probs: probs}
	r.rec.RequestID = r.str("request_id")
	r.timestamp()
	r.input(ctx)
	r.system()
	r.output()
	r.params()
	if len(r.probs) > 0 {
		return nil, r.probs
	}
	r.rec.System.Seal()
	if p := r.rec.Validate(); len(p) > 0 {
		return nil, p
	}
	return r.rec, nil
}

// resolution is one row being resolved: the record so far and the
// problems found, in the order of the row's fields.
type resolution struct {
	im    *Importer
	row   Row
	rec   *record.Record
	probs []record.Problem
}

func (r *resolution) bad(field, format string, a ...any) {
	r.probs = append(r.probs, record.Problem{Field: field, Message: fmt.Sprintf(format, a...)})
}

// str is the non-empty string at key ("" and a problem otherwise).
func (r *resolution) str(key string) string {
	v, ok := r.row[key]
	if !ok || v == nil {
		r.bad(key, "missing")
		return ""
	}
	s, ok := v.(string)
	if !ok || s == "" {
		r.bad(key, "must be a non-empty string")
		return ""
	}
	return s
}

// timestamp reads the decision time (a time or RFC 3339), within
// [MinTimestamp, MaxTimestamp).
func (r *resolution) timestamp() {
	timeOK := false
	switch v := r.row["timestamp"].(type) {
	case time.Time:
		r.rec.Timestamp, timeOK = v.UTC(), true
	case string:
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			r.bad("timestamp", "not an RFC 3339 time: %q", v)
		}
		r.rec.Timestamp, timeOK = t.UTC(), err == nil
	case nil:
		r.bad("timestamp", "missing")
	default:
		r.bad("timestamp", "not a time")
	}
	if t := r.rec.Timestamp; timeOK && (t.Before(MinTimestamp) || !t.Before(MaxTimestamp)) {
		r.bad("timestamp", "%s is outside the accepted range [%s, %s)", t.Format(time.RFC3339Nano),
			MinTimestamp.Format(time.DateOnly), MaxTimestamp.Format(time.DateOnly))
	}
}

// input reads input_hash (sha256:… or sha256-…), an input in the store.
func (r *resolution) input(ctx context.Context) {
	h := r.str("input_hash")
	if h == "" {
		return
	}
	d, err := digest.Parse(strings.Replace(h, "sha256-", "sha256:", 1))
	if err != nil {
		r.bad("input_hash", "%v", err)
		return
	}
	r.rec.Input.Digest = d
	if err := r.im.inStore(ctx, d); err != nil {
		r.bad("input_hash", "input %s not in the store: %v", d, err)
	}
}

// system resolves the model and config versions and the image tag through
// the version map, and the runtime (the map's defaults, then the image's).
func (r *resolution) system() {
	m := r.im.Map
	if mv := r.str("model_version"); mv != "" {
		if a, ok := m.Models[mv]; ok {
			r.rec.System.Model = a
		} else {
			r.bad("model_version", "unknown model version %q (not in the version map)", mv)
		}
	}
	if cv := r.str("config_version"); cv != "" {
		if a, ok := m.Configs[cv]; ok {
			r.rec.System.Config = a
		} else {
			r.bad("config_version", "unknown config version %q (not in the version map)", cv)
		}
	}
	rt := m.Defaults
	if tag := r.str("inference_image"); tag != "" {
		if img, ok := m.Images[tag]; ok {
			r.rec.System.Image = img.Image
			r.rec.System.Components = img.Components
			if img.Protocol != "" {
				rt.Protocol = img.Protocol
			}
			if img.HardwareClass != "" {
				rt.HardwareClass = img.HardwareClass
			}
			if img.InputMediaType != "" {
				rt.InputMediaType = img.InputMediaType
			}
		} else {
			r.bad("inference_image", "unknown image %q (not in the version map)", tag)
		}
	}
	r.rec.Runtime.Protocol, r.rec.Runtime.HardwareClass, r.rec.Input.MediaType = rt.Protocol, rt.HardwareClass, rt.InputMediaType
}

// output reads output.decision (the label) and output.confidence (the
// score); one of them is required.
func (r *resolution) output() {
	var out output.Output
	switch v := r.row["output.decision"].(type) {
	case string:
		out.Label = &v
	case nil:
	default:
		r.bad("output.decision", "must be a string")
	}
	if v, ok := r.row["output.confidence"]; ok && v != nil {
		if f, ok := num(v); ok {
			out.Score = &f
		} else {
			r.bad("output.confidence", "must be a number")
		}
	}
	if out.IsZero() {
		r.bad("output", "needs a decision or a confidence")
	}
	r.rec.Output = record.Output{Output: out, Digest: digest.FromBytes(out.Canonical())}
}

// params reads the optional decision parameters.
func (r *resolution) params() {
	p := &r.rec.Params
	if v, ok := r.row["params.seed"]; ok && v != nil {
		if s, ok := seedValue(v); ok {
			p.Seed = &s
		} else {
			r.bad("params.seed", "must be a non-negative integer")
		}
	}
	for key, dst := range map[string]**float64{"params.temperature": &p.Temperature, "params.top_p": &p.TopP} {
		if v, ok := r.row[key]; ok && v != nil {
			if f, ok := num(v); ok {
				*dst = &f
			} else {
				r.bad(key, "must be a number")
			}
		}
	}
	if v, ok := r.row["params.max_tokens"]; ok && v != nil {
		if f, ok := num(v); ok && f == math.Trunc(f) && f > 0 && f < 1<<31 {
			n := int(f)
			p.MaxTokens = &n
		} else {
			r.bad("params.max_tokens", "must be a positive integer")
		}
	}
}

// seedValue reads a non-negative integer seed exactly (a JSON number as
// written, a Parquet INT64, or a float that holds an integer).
func seedValue(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return i, err == nil && i >= 0
	case int64:
		return x, x >= 0
	case float64:
		return int64(x), x == math.Trunc(x) && x >= 0 && x < 1<<53
	}
	return 0, false
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func (im *Importer) inStore(ctx context.Context, d digest.Digest) error {
	if im.Inputs == nil {
		return nil
	}
	if im.checked == nil {
		im.checked = map[digest.Digest]error{}
	}
	if err, ok := im.checked[d]; ok {
		return err
	}
	_, err := im.Inputs.Verify(ctx, d)
	im.checked[d] = err
	return err
}

// Import reads the log at path (a regular file, see fsread.Open: JSON
// Lines of at most MaxLineSize bytes a line, or Parquet when the file
// starts with "PAR1", checked against im.Limits) and calls yield with each
// row's line (JSON Lines) or row number (Parquet, 1-based) and its record,
// or a *record.RowError. yield returning false stops. The error is for the
// file itself; ctx stops the reads (ctx.Err()).
func (im *Importer) Import(ctx context.Context, path string, yield func(line int64, rec *record.Record, err error) bool) error {
	f, size, err := fsread.Open(path)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLog, err)
	}
	defer f.Close()
	var magic [4]byte
	n, _ := io.ReadFull(f, magic[:])
	each := func(line int64, row Row, rowErr string) bool {
		if err := ctx.Err(); err != nil {
			return false
		}
		if rowErr != "" {
			return yield(line, nil, &record.RowError{Row: line, Problems: []record.Problem{{Message: rowErr}}})
		}
		rec, probs := im.Resolve(ctx, row)
		if len(probs) > 0 {
			return yield(line, nil, &record.RowError{Row: line, Problems: probs})
		}
		return yield(line, rec, nil)
	}
	if n == 4 && string(magic[:]) == "PAR1" {
		err = ParquetRows(ctx, fsread.ReaderAt(ctx, f), size, im.Limits, func(row int64, r Row) bool { return each(row, r, "") })
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return ctx.Err()
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("%w: %v", ErrLog, err)
	}
	sc := bufio.NewScanner(fsread.Reader(ctx, f))
	sc.Buffer(make([]byte, 64<<10), MaxLineSize)
	var line int64
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		row, err := jsonRow(b)
		msg := ""
		if err != nil {
			msg = "malformed JSON: " + err.Error()
		}
		if !each(line, row, msg) {
			return ctx.Err()
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%w: line %d: longer than %d bytes", ErrLog, line+1, MaxLineSize)
		}
		return fmt.Errorf("%w: line %d: %v", ErrLog, line+1, err)
	}
	return ctx.Err()
}

// MaxLineSize is the longest line of a JSON Lines log, in bytes.
const MaxLineSize = 16 << 20

// jsonRow decodes one JSON object, flattening nested objects into dotted
// keys. A key given twice in one object is an error (decoders differ on
// which one wins).
func jsonRow(b []byte) (Row, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil {
		return nil, err
	} else if t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	row := Row{}
	if err := flatObject(dec, "", row); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value on the line")
	}
	return row, nil
}

// flatObject reads the members of an object whose '{' was read, into row
// under prefix.
func flatObject(dec *json.Decoder, prefix string, row Row) error {
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		k := t.(string)
		if seen[k] {
			return fmt.Errorf("duplicate key %q", prefix+k)
		}
		seen[k] = true
		t, err = dec.Token()
		if err != nil {
			return err
		}
		if t == json.Delim('{') {
			if err := flatObject(dec, prefix+k+".", row); err != nil {
				return err
			}
			continue
		}
		v, err := tokenValue(dec, t)
		if err != nil {
			return err
		}
		if _, dup := row[prefix+k]; dup {
			return fmt.Errorf("duplicate key %q", prefix+k)
		}
		row[prefix+k] = v
	}
	_, err := dec.Token() // '}'
	return err
}

// tokenValue is the value that starts with t: a scalar, or an array read
// whole (as encoding/json decodes it into any; objects within are checked
// for duplicate keys too).
func tokenValue(dec *json.Decoder, t json.Token) (any, error) {
	switch t {
	case json.Delim('['):
		var a []any
		for dec.More() {
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := tokenValue(dec, t)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.Token()
		return a, err
	case json.Delim('{'):
		m := Row{}
		if err := flatObject(dec, "", m); err != nil {
			return nil, err
		}
		return map[string]any(m), nil
	}
	return t, nil
}

// ParquetRows streams the rows of a Parquet file of any flat or nested
// (struct) schema as Rows keyed by dotted column paths, one row group at a
// time, after record.CheckParquet has refused a file whose pages exceed
// lim (the error wraps ErrLog and record.ErrParquetLimit). Strings,
// numbers, booleans and timestamps are converted; other types are left
// out. ctx stops the reads.
func ParquetRows(ctx context.Context, r io.ReaderAt, size int64, lim record.ParquetLimits, yield func(row int64, r Row) bool) error {
	f, err := record.OpenParquet(ctx, r, size, lim)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", ErrLog, err)
	}
	type col struct {
		name string
		conv func(parquet.Value) any
	}
	var cols []col
	for _, path := range f.Schema().Columns() {
		leaf, _ := f.Schema().Lookup(path...)
		cols = append(cols, col{name: strings.Join(path, "."), conv: converter(leaf.Node)})
	}
	buf := make([]parquet.Row, 256)
	var base int64
	for gi, rg := range f.RowGroups() {
		rows := rg.Rows()
		for {
			k, err := rows.ReadRows(buf)
			for i := range k {
				row := Row{}
				for _, v := range buf[i] {
					c := v.Column()
					if c < 0 || c >= len(cols) {
						continue
					}
					if v.IsNull() {
						row[cols[c].name] = nil
					} else if cols[c].conv != nil {
						row[cols[c].name] = cols[c].conv(v)
					}
				}
				base++
				if !yield(base, row) {
					rows.Close()
					return nil
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return fmt.Errorf("%w: row group %d: %v", ErrLog, gi, err)
			}
		}
		rows.Close()
	}
	return nil
}

func converter(n parquet.Node) func(parquet.Value) any {
	t := n.Type()
	if lt := t.LogicalType(); lt != nil {
		if ts, ok := lt.Value.(*format.TimestampType); ok && t.Kind() == parquet.Int64 {
			unit := int64(1)
			switch ts.Unit.Value.(type) {
			case *format.MilliSeconds:
				unit = 1e6
			case *format.MicroSeconds:
				unit = 1e3
			}
			return func(v parquet.Value) any { return time.Unix(0, v.Int64()*unit).UTC() }
		}
	}
	switch t.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return func(v parquet.Value) any { return string(v.ByteArray()) }
	case parquet.Double:
		return func(v parquet.Value) any { return v.Double() }
	case parquet.Float:
		return func(v parquet.Value) any { return float64(v.Float()) }
	case parquet.Int64:
		return func(v parquet.Value) any { return v.Int64() }
	case parquet.Int32:
		return func(v parquet.Value) any { return int64(v.Int32()) }
	case parquet.Boolean:
		return func(v parquet.Value) any { return v.Boolean() }
	}
	return nil
}
