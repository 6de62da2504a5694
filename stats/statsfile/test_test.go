package statsfile

import (
	"errors"
	"math"
	"testing"
)

// flagRecorder is a FlagSet that records the names registered on it.
type flagRecorder struct{ names []string }

func (r *flagRecorder) StringVar(p *string, name, value, usage string) {
	*p = value
	r.names = append(r.names, name)
}

func (r *flagRecorder) StringSliceVar(p *[]string, name string, value []string, usage string) {
	*p = value
	r.names = append(r.names, name)
}

func (r *flagRecorder) IntVar(p *int, name string, value int, usage string) {
	*p = value
	r.names = append(r.names, name)
}

func (r *flagRecorder) Uint64Var(p *uint64, name string, value uint64, usage string) {
	*p = value
	r.names = append(r.names, name)
}

func (r *flagRecorder) Float64Var(p *float64, name string, value float64, usage string) {
	*p = value
	r.names = append(r.names, name)
}

func (r *flagRecorder) BoolVar(p *bool, name string, value bool, usage string) {
	*p = value
	r.names = append(r.names, name)
}

// lookup returns the test named name.
func lookup(t *testing.T, name string) Test {
	t.Helper()
	for _, x := range Tests() {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("no test %q", name)
	return Test{}
}

// TestTestsTable: every test has a unique name, help, and parameters with
// unique names.
func TestTestsTable(t *testing.T) {
	seen := map[string]bool{}
	for _, x := range Tests() {
		if x.Name == "" || seen[x.Name] || x.Short == "" || x.Long == "" || x.Use == "" {
			t.Errorf("test %+v: empty or repeated name or help", x)
		}
		seen[x.Name] = true
		var r flagRecorder
		x.AddFlags(&Params{}, &r)
		names := map[string]bool{}
		for _, n := range r.names {
			if names[n] {
				t.Errorf("%s registers %s twice", x.Name, n)
			}
			names[n] = true
		}
		if len(names) == 0 {
			t.Errorf("%s has no parameters", x.Name)
		}
	}
	if len(seen) != 21 {
		t.Errorf("%d tests, want 21", len(seen))
	}
}

// TestRunBinom runs binom from its defaults and two given counts, as the
// CLI does. R: binom.test(7, 20)$p.value = 0.26317596435546875,
// $conf.int = 0.15390920478454115 0.59218853453282816.
func TestRunBinom(t *testing.T) {
	binom := lookup(t, "binom")
	var p Params
	binom.AddFlags(&p, &flagRecorder{})
	if _, err := binom.Run(&p); !errors.Is(err, ErrInput) {
		t.Fatalf("binom without --successes and --trials: %v, want ErrInput", err)
	}
	p.Successes, p.Trials = 7, 20
	p.Given = func(name string) bool { return name == "successes" || name == "trials" }
	r, err := binom.Run(&p)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := r.(BinomResult)
	if !ok {
		t.Fatalf("binom returned %T", r)
	}
	near := func(got, want float64) bool { return math.Abs(got-want) <= 1e-12*want }
	if b.Test != "binom" || !near(b.PValue, 0.26317596435546875) || !near(b.Lower, 0.15390920478454115) || !near(b.Upper, 0.59218853453282816) {
		t.Errorf("binom 7/20: %+v", b)
	}
}

// TestRandRepeatable: one seed, one stream.
func TestRandRepeatable(t *testing.T) {
	a, b, c := Rand(9), Rand(9), Rand(10)
	x, y, z := a.Uint64(), b.Uint64(), c.Uint64()
	if x != y || x == z {
		t.Errorf("Rand(9) gave %d and %d, Rand(10) %d", x, y, z)
	}
}
