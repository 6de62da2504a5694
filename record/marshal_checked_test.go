package record

import (
	"errors"
	"testing"
)

func TestMarshalCheckedRefusesAnInvalidRecord(t *testing.T) {
	if _, err := MarshalChecked(&Record{Schema: Schema}); err == nil || !errors.Is(err, ErrMalformed) {
		t.Errorf("MarshalChecked(empty record) = %v; want an error wrapping ErrMalformed", err)
	}
}
