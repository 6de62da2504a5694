// Package statsfile runs the tests of package stats on samples read from
// files: the table of named tests behind `reprise stats TEST` (Tests), the
// Params they read, the readers of sample files (numbers, labels, vectors,
// tables of counts; one value per line, blank lines and lines starting with
// # skipped) and the one seeded random stream (Rand).
//
// A Test registers its parameters on a FlagSet (a *pflag.FlagSet is one) and
// Run returns its answer as a struct with json tags, which the caller prints.
// Parameters are named as the flags they are registered as: an error names
// a parameter as --name. A bad parameter or sample file is an error that
// matches ErrInput (errors.Is); bad data the stats package detects comes back
// wrapped in its own sentinel errors. The package does no printing and knows
// nothing of exit codes.
//
// It imports only the standard library and package stats.
package statsfile
