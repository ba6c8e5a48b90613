//go:build !unix

package gitcmd

import "os/exec"

// killGroup: without process groups, cancellation kills git alone; WaitDelay
// bounds the wait for its helpers.
func killGroup(*exec.Cmd) {}
