package replay

import (
	"bytes"
	"testing"

	"github.com/reprise-dev/reprise/record"
)

func TestCheckedResult(t *testing.T) {
	bad := []record.Problem{{Field: "input.digest", Message: "missing"}}
	for _, c := range []struct {
		checked Checked
		status  string
		lines   int
	}{
		{Checked{Source: "a.json", Record: &record.Record{RequestID: "r1"}}, StatusOK, 1},
		{Checked{Source: "b.json", Problems: bad}, StatusMalformed, 1},
		{Checked{Source: "c.json", Record: &record.Record{}, Problems: append(bad, bad...)}, StatusIntegrity, 2},
	} {
		res := c.checked.Result()
		var b bytes.Buffer
		res.WriteText(&b)
		if res.Status != c.status || res.OK != (c.status == StatusOK) || bytes.Count(b.Bytes(), []byte("\n")) != c.lines {
			t.Errorf("%s: Result() = %+v, text %q", c.checked.Source, res, b.String())
		}
	}
}
