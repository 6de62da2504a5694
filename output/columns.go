package output

import "fmt"

// Columns are a stored output's per-field columns as a report row carries
// them: stored_label, stored_score and stored_text, each null in JSON and
// absent in Parquet (optional columns) when the output lacks the field.
// Parquet holds label and score only (texts are long; a replay's
// runs.parquet keeps them). replay's report.json (its record section) and
// replay/nightly's results.parquet embed Columns, so both define the
// columns once; Fields is the same model for text renderers (report.md).
type Columns struct {
	StoredLabel *string  `json:"stored_label" parquet:"stored_label,optional"`
	StoredScore *float64 `json:"stored_score" parquet:"stored_score,optional"`
	StoredText  *string  `json:"stored_text" parquet:"-"`
}

// ColumnsOf is o as columns.
func ColumnsOf(o Output) Columns {
	return Columns{StoredLabel: o.Label, StoredScore: o.Score, StoredText: o.Text}
}

// Output is the output the columns hold.
func (c Columns) Output() Output {
	return Output{Label: c.StoredLabel, Score: c.StoredScore, Text: c.StoredText}
}

// Field is one field of an Output as a renderer sees it: its name
// ("label", "score" or "text") and its value written with %v; Set is false
// (and Value empty) when the output lacks it.
type Field struct {
	Name  string
	Value string
	Set   bool
}

// Fields are o's fields in the order label, score, text, or only those
// named (in the order named; an unknown name is skipped).
func (o Output) Fields(names ...string) []Field {
	if len(names) == 0 {
		names = []string{"label", "score", "text"}
	}
	fs := make([]Field, 0, len(names))
	for _, n := range names {
		switch n {
		case "label":
			fs = append(fs, fieldOf(n, o.Label))
		case "score":
			fs = append(fs, fieldOf(n, o.Score))
		case "text":
			fs = append(fs, fieldOf(n, o.Text))
		}
	}
	return fs
}

func fieldOf[T any](name string, p *T) Field {
	if p == nil {
		return Field{Name: name}
	}
	return Field{Name: name, Value: fmt.Sprint(*p), Set: true}
}
