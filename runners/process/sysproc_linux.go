package process

import "syscall"

// sysProcAttr puts the child in its own process group (killed as a whole on
// Close) and has Linux send it SIGKILL when the thread that started it dies
// (see the package doc for the caveat).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
