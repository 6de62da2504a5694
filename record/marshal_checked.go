package record

import "fmt"

// MarshalChecked is Marshal, with the bytes read back by the strict
// decoder (Parse): a record that would not read back is an error, not a
// file.
func MarshalChecked(rec *Record) ([]byte, error) {
	b, err := Marshal(rec)
	if err != nil {
		return nil, err
	}
	if _, err := Parse(b); err != nil {
		return nil, fmt.Errorf("created record is invalid: %w", err)
	}
	return b, nil
}
