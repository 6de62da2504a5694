package statsfile

import "slices"

// Test is one named test of Tests: its help and the parameters it reads.
type Test struct {
	Name  string // as in `reprise stats NAME`
	Use   string // the synopsis of its parameters, after the name
	Short string // one line
	Long  string // the full help

	flags func(p *Params, fs FlagSet)
	run   func(p *Params) (any, error)
}

// AddFlags registers the parameters of t, bound to the fields of p, on fs.
func (t Test) AddFlags(p *Params, fs FlagSet) { t.flags(p, fs) }

// Run runs t on p and returns its answer: a struct with json tags whose
// fields are in the order they are to be printed. A bad parameter or file
// is an ErrInput; bad data, one of the sentinel errors of package stats.
func (t Test) Run(p *Params) (any, error) { return t.run(p) }

// Tests is the table of every test, in the order of the help.
func Tests() []Test {
	ts := slices.Concat(proportionTests(), equivalenceTests(), sampleTests())
	for i := range ts {
		if ts[i].Long == "" {
			ts[i].Long = ts[i].Short + "."
		}
	}
	return ts
}

// Head begins every result: the test and the method that answered.
type Head struct {
	Test   string `json:"test"`
	Method string `json:"method"`
}

// DrawInfo is the number of random draws behind a result and their seed
// (both left out when there were none).
type DrawInfo struct {
	Draws int     `json:"draws,omitempty"`
	Seed  *uint64 `json:"seed,omitempty"`
}

// warnings returns w, or an empty list for nil (so JSON shows [], not null).
func warnings(w []string) []string {
	if w == nil {
		return []string{}
	}
	return w
}
