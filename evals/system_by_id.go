package evals

import (
	"context"

	"github.com/reprise-dev/reprise/digest"
	"github.com/reprise-dev/reprise/system"
)

// SystemByID is the system with id as the store knows it: the system of
// its first stored eval run (History), whose id must recompute
// (system.Check). found is false when the store holds no run of it.
func SystemByID(ctx context.Context, st Lister, id digest.Digest) (sys system.System, found bool, err error) {
	runs, err := History(ctx, st, digest.Digest{}, id)
	if err != nil || len(runs) == 0 {
		return system.System{}, false, err
	}
	sys = runs[0].System
	return sys, true, sys.Check()
}
