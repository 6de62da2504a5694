package stats

import (
	"fmt"
	"math"
)

// SPRTDecision is the state of a sequential probability ratio test.
type SPRTDecision int

const (
	Continue SPRTDecision = iota // not enough evidence yet
	AcceptH0                     // the rate is p0
	AcceptH1                     // the rate is p1
)

func (d SPRTDecision) String() string {
	return [...]string{"continue", "accept H0", "accept H1"}[d]
}

// SPRT is Wald's sequential probability ratio test for a Bernoulli rate,
// H0: p = P0 against H1: p = P1, with type I error Alpha and type II error
// Beta. Wald's bounds A = ln((1−β)/α) and B = ln(β/(1−α)) keep the error
// rates at or (up to overshoot) below the nominal levels.
type SPRT struct {
	P0, P1, Alpha, Beta float64
	LLR                 float64 // log-likelihood ratio so far
	N, Successes        int
	Decision            SPRTDecision
}

// NewSPRT returns a test of H0: p = p0 against H1: p = p1 with error rates
// alpha and beta, before any observation. Errors: ErrDomain when a
// parameter is outside (0, 1) or p0 = p1.
func NewSPRT(p0, p1, alpha, beta float64) (*SPRT, error) {
	for _, v := range []float64{p0, p1, alpha, beta} {
		if !(v > 0 && v < 1) {
			return nil, fmt.Errorf("%w: SPRT parameters must lie in (0, 1), got %g", ErrDomain, v)
		}
	}
	if p0 == p1 {
		return nil, fmt.Errorf("%w: p0 = p1", ErrDomain)
	}
	return &SPRT{P0: p0, P1: p1, Alpha: alpha, Beta: beta}, nil
}

// Bounds returns Wald's lower (accept H0) and upper (accept H1) bounds of the LLR.
func (s *SPRT) Bounds() (lower, upper float64) {
	return math.Log(s.Beta / (1 - s.Alpha)), math.Log((1 - s.Beta) / s.Alpha)
}

// Observe adds one outcome (success: the event whose rate is tested) and
// returns the decision. Once decided, further
// observations are counted but do not change the decision.
func (s *SPRT) Observe(success bool) SPRTDecision {
	s.N++
	if success {
		s.Successes++
		s.LLR += math.Log(s.P1 / s.P0)
	} else {
		s.LLR += math.Log((1 - s.P1) / (1 - s.P0))
	}
	if s.Decision == Continue {
		lo, hi := s.Bounds()
		switch {
		case s.LLR >= hi:
			s.Decision = AcceptH1
		case s.LLR <= lo:
			s.Decision = AcceptH0
		}
	}
	return s.Decision
}

// Run feeds the 0/1 outcomes xs to the test in order, stopping at the first
// decision (or at once if the test is already decided), and returns the
// decision and how many of xs it used. A NaN is ErrNaN and any other value
// than 0 and 1 is ErrDomain; the outcomes before it stay counted.
func (s *SPRT) Run(xs []float64) (SPRTDecision, int, error) {
	for i, x := range xs {
		if s.Decision != Continue {
			return s.Decision, i, nil
		}
		switch {
		case math.IsNaN(x):
			return s.Decision, i, fmt.Errorf("%w: outcome %d", ErrNaN, i+1)
		case x != 0 && x != 1:
			return s.Decision, i, fmt.Errorf("%w: outcome %d is %g, want 0 or 1", ErrDomain, i+1, x)
		}
		s.Observe(x == 1)
	}
	return s.Decision, len(xs), nil
}

// BetaBinomialCS is an anytime-valid confidence sequence for a Bernoulli
// rate: the beta-binomial mixture (Robbins 1970; Howard, Ramdas, McAuliffe &
// Sekhon 2021, "Time-uniform, nonparametric, nonasymptotic confidence
// sequences", Ann. Statist.). With a Beta(A, B) mixing prior, the set
//
//	{ p : B(A+S, B+n−S) / (B(A, B) · p^S (1−p)^(n−S)) < 1/α }
//
// covers the true rate at every n simultaneously with probability ≥ 1−α
// (Ville's inequality), so it may be checked after every run and a replay
// stopped as soon as it excludes the threshold.
//
// Errors: ErrDomain (successes outside [0, n], alpha outside (0, 1), a
// prior parameter not positive). With n = 0 the interval is [0, 1].
func BetaBinomialCS(successes, n int, alpha, a, b float64) (lower, upper float64, err error) {
	if n < 0 || successes < 0 || successes > n {
		return 0, 0, fmt.Errorf("%w: %d successes of %d", ErrDomain, successes, n)
	}
	if !(alpha > 0 && alpha < 1) || !(a > 0) || !(b > 0) {
		return 0, 0, fmt.Errorf("%w: alpha %g, prior (%g, %g)", ErrDomain, alpha, a, b)
	}
	if n == 0 {
		return 0, 1, nil
	}
	logM, thr := betaBinomialLogM(successes, n, alpha, a, b)
	s, f := float64(successes), float64(n-successes)
	ph := s / float64(n)
	root := func(lo, hi float64, increasing bool) float64 {
		for range 200 {
			mid := (lo + hi) / 2
			if (logM(mid) < thr) == increasing {
				lo = mid
			} else {
				hi = mid
			}
		}
		return (lo + hi) / 2
	}
	lower, upper = 0, 1
	if s > 0 && logM(1e-300) >= thr {
		lower = root(1e-300, ph, false)
	}
	if f > 0 && logM(1-1e-16) >= thr {
		upper = root(ph, 1-1e-16, true)
	}
	return lower, upper, nil
}

// betaBinomialLogM returns log M(p), the log of the beta-binomial mixture
// martingale against p after successes of n, and the threshold ln(1/α).
// log M(p) = ln B(A+S, B+F) − ln B(A, B) − S ln p − F ln(1−p) is convex in p.
func betaBinomialLogM(successes, n int, alpha, a, b float64) (func(p float64) float64, float64) {
	s, f := float64(successes), float64(n-successes)
	lbeta := func(x, y float64) float64 {
		lx, _ := math.Lgamma(x)
		ly, _ := math.Lgamma(y)
		lxy, _ := math.Lgamma(x + y)
		return lx + ly - lxy
	}
	logMix := lbeta(a+s, b+f) - lbeta(a, b)
	return func(p float64) float64 {
		v := logMix
		if s > 0 {
			v -= s * math.Log(p)
		}
		if f > 0 {
			v -= f * math.Log1p(-p)
		}
		return v
	}, math.Log(1 / alpha)
}

// BetaBinomialCSCovers reports whether p lies in the confidence sequence of
// BetaBinomialCS after successes of n (O(1), for monitoring every run).
func BetaBinomialCSCovers(successes, n int, alpha, a, b, p float64) bool {
	if n == 0 {
		return true
	}
	logM, thr := betaBinomialLogM(successes, n, alpha, a, b)
	return logM(p) < thr
}
