// Package runopts holds the runner options a user gives to every verb that
// runs a system (replay, nightly, record create --capture, evals run, check
// and rescore): which runner (docker, process or endpoint), its sandbox
// limits, environment, timeouts, registries and runs in flight. Options
// checks them (Validate, Declared), builds the runner they select
// (NewRunner) and the session settings of launch (Launch).
//
// Its errors match ErrInvalid (errors.Is) and name the flag at fault
// (--memory, --url, …): the options are the CLI's flags as given, and
// only the CLI decides which exit code an invalid option is.
package runopts
