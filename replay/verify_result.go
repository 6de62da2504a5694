package replay

import (
	"fmt"
	"io"

	"github.com/reprise-dev/reprise/record"
)

// VerifyResult is one record's verification as verify prints it.
type VerifyResult struct {
	Path      string           `json:"path"`
	RequestID string           `json:"request_id,omitempty"`
	SystemID  string           `json:"system_id,omitempty"`
	OK        bool             `json:"ok"`
	Status    string           `json:"status"` // StatusOK, StatusMalformed or StatusIntegrity
	Problems  []record.Problem `json:"problems"`
}

// Result is c as a VerifyResult.
func (c Checked) Result() VerifyResult {
	res := VerifyResult{Path: c.Source, Status: StatusOK, Problems: append([]record.Problem{}, c.Problems...), OK: len(c.Problems) == 0}
	if c.Record != nil {
		res.RequestID, res.SystemID = c.Record.RequestID, c.Record.System.ID.String()
	}
	switch {
	case res.OK:
	case c.Malformed():
		res.Status = StatusMalformed
	default:
		res.Status = StatusIntegrity
	}
	return res
}

// WriteText writes the record's lines: "PATH: ok (request …, system …)"
// when it holds, else one line per problem.
func (r VerifyResult) WriteText(w io.Writer) error {
	if r.OK {
		fmt.Fprintf(w, "%s: ok (request %s, system %s)\n", r.Path, r.RequestID, r.SystemID)
	}
	for _, pr := range r.Problems {
		fmt.Fprintf(w, "%s: %s\n", r.Path, pr)
	}
	return nil
}

// Verification statuses of a record (VerifyResult.Status).
const (
	StatusOK        = "ok"
	StatusMalformed = "malformed"
	StatusIntegrity = "integrity"
)
