package replay

import "fmt"

// Text is the outcome's line of replay's text output: "SOURCE REQUEST_ID:
// VERDICT (BASIS)  reports: DIR", without the parts that are empty.
func (o Outcome) Text() string {
	text := fmt.Sprintf("%s %s: %s", o.Source, o.RequestID, o.Verdict)
	if o.RequestID == "" { // the record could not be read: no request id to name
		text = fmt.Sprintf("%s: %s", o.Source, o.Verdict)
	}
	if o.Basis != "" {
		text += " (" + o.Basis + ")"
	}
	if o.Reports != "" {
		text += "  reports: " + o.Reports
	}
	return text
}
