package replay

import "github.com/reprise-dev/reprise/output"

// Outputs are the fresh-seed outputs of a Run as the tests see them (a
// text longer than MaxRunText as its cut, see checkText), in run order;
// nil after Decide, which drops them. Callers that compare a Run's
// outputs with another's (replay/counterfactual) read them here.
func (res *Result) Outputs() []output.Output {
	if res == nil || res.log == nil {
		return nil
	}
	return res.log.outs
}
