package ingest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/reprise-dev/reprise/fsread"
	"github.com/reprise-dev/reprise/record"
)

// Fields are the fields of a production log row import reads (the shape
// of seeds/003), by the names a column map uses: a nested object's
// members joined with ".".
var Fields = []string{
	"request_id", "timestamp", "input_hash", "model_version", "config_version", "inference_image",
	"output.decision", "output.confidence",
	"params.seed", "params.temperature", "params.top_p", "params.max_tokens",
}

// ErrColumnMap: a column map (--columns FILE, --column FIELD=COLUMN) is
// not valid.
var ErrColumnMap = errors.New("invalid column map")

// ColumnMap says which column of a log holds each field (Fields). A field
// the map does not name is read from its default columns: the field's own
// path (output.decision: the member decision of a struct or object
// output) or the flat name warehouse exports write, "." replaced by "_"
// (output_decision). A row that gives one field in two of its columns
// (both non-NULL) is a row error naming them: nothing is guessed. A
// field the map names is read from that column alone.
type ColumnMap struct {
	cols map[string]string // field -> column, as given
}

// MaxColumnMapSize bounds a column map file, in bytes.
const MaxColumnMapSize = 1 << 20

// ParseColumnMap reads a column map: a JSON object of fields to column
// names ({"request_id": "req", "output.decision": "label"}). An unknown
// field, an empty column, and a column given to two fields are
// ErrColumnMap.
func ParseColumnMap(b []byte) (*ColumnMap, error) {
	var m map[string]string
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: want a JSON object of fields to column names: %v", ErrColumnMap, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrColumnMap)
	}
	return NewColumnMap(m)
}

// LoadColumnMap reads the column map file at path (a regular file of at
// most 1 MiB).
func LoadColumnMap(path string) (*ColumnMap, error) {
	b, err := fsread.ReadFile(context.Background(), path, MaxColumnMapSize, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrColumnMap, err)
	}
	m, err := ParseColumnMap(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// NewColumnMap checks fields to columns (see ParseColumnMap).
func NewColumnMap(m map[string]string) (*ColumnMap, error) {
	by := map[string]string{}
	for _, f := range slices.Sorted(maps.Keys(m)) {
		c := m[f]
		if !slices.Contains(Fields, f) {
			return nil, fmt.Errorf("%w: unknown field %q (fields: %s)", ErrColumnMap, f, strings.Join(Fields, ", "))
		}
		if c == "" {
			return nil, fmt.Errorf("%w: field %s: empty column name", ErrColumnMap, f)
		}
		if o, dup := by[c]; dup {
			return nil, fmt.Errorf("%w: column %q given to both %s and %s", ErrColumnMap, c, o, f)
		}
		by[c] = f
	}
	return &ColumnMap{cols: m}, nil
}

// Columns are the columns field is read from, in order of preference.
func (m *ColumnMap) Columns(field string) []string {
	if m != nil {
		if c, ok := m.cols[field]; ok {
			return []string{c}
		}
	}
	if flat := strings.ReplaceAll(field, ".", "_"); flat != field {
		return []string{field, flat}
	}
	return []string{field}
}

// apply is the row keyed by field (Fields): each field's value from the
// one of its columns that is present and not NULL (NULL, or absent, when
// none is), and a problem for each field given in two columns.
func (m *ColumnMap) apply(row Row) (Row, []record.Problem) {
	out := make(Row, len(Fields))
	var probs []record.Problem
	for _, f := range Fields {
		var from string
		for _, c := range m.Columns(f) {
			v, ok := row[c]
			if !ok {
				continue
			}
			if v == nil {
				if _, set := out[f]; !set {
					out[f] = nil
				}
				continue
			}
			if from != "" {
				probs = append(probs, record.Problem{Field: f, Message: fmt.Sprintf("given twice, in columns %s and %s (which one to read is not guessed)", from, c)})
				continue
			}
			from, out[f] = c, v
		}
	}
	return out, probs
}

// ColumnFlags is the column map of --columns FILE ("": none) and
// --column FIELD=COLUMN pairs, which take precedence over the file's; nil
// when neither is given.
func ColumnFlags(file string, pairs []string) (*ColumnMap, error) {
	if file == "" && len(pairs) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	if file != "" {
		cm, err := LoadColumnMap(file)
		if err != nil {
			return nil, fmt.Errorf("--columns: %w", err)
		}
		maps.Copy(m, cm.cols)
	}
	for _, p := range pairs {
		f, c, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("--column %q: %w: want FIELD=COLUMN", p, ErrColumnMap)
		}
		m[f] = c
	}
	cm, err := NewColumnMap(m)
	if err != nil {
		return nil, fmt.Errorf("--columns/--column: %w", err)
	}
	return cm, nil
}
