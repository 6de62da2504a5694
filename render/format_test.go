package render

import (
	"bytes"
	"testing"
)

func TestFormatWrite(t *testing.T) {
	var f Format
	if err := f.Set("yaml"); err == nil {
		t.Error(`Set("yaml") accepted`)
	}
	v := struct {
		Name string `json:"name"`
	}{"loan"}
	for _, c := range []struct {
		format, want string
	}{{"json", "{\n  \"name\": \"loan\"\n}\n"}, {"text", "name: loan\n"}} {
		if err := f.Set(c.format); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := Write(&b, f, v, nil); err != nil || b.String() != c.want {
			t.Errorf("Write(%s) = %q, %v; want %q", c.format, b.String(), err, c.want)
		}
	}
	if err := Write(&bytes.Buffer{}, Format("xml"), v, nil); err == nil {
		t.Error("Write(xml) accepted")
	}
}
