//go:build unix

package gitcmd

import (
	"os/exec"
	"syscall"
)

// killGroup makes cmd's cancellation kill its whole process group: git runs
// helpers (git-remote-http, ssh) that would otherwise outlive it.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
