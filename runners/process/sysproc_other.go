//go:build !linux

package process

import "syscall"

// sysProcAttr puts the child in its own process group (killed as a whole on
// Close). Outside Linux there is no parent-death signal: a child outlives a
// reprise killed outright.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
