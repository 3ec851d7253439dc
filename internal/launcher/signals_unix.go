//go:build unix

package launcher

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals passed to the child.
var forwarded = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGALRM,
}

// fromTerminal reports whether s may have come from the terminal, which
// already delivered it to the child: the child shares our process group,
// and when that group is the terminal's foreground group, Ctrl-C, Ctrl-\
// and window resizes reach every member. Forwarding them again would make
// a program see two SIGINTs for one Ctrl-C (many treat the second as
// "force quit").
func fromTerminal(s os.Signal) bool {
	switch s {
	case syscall.SIGINT, syscall.SIGQUIT, syscall.SIGWINCH:
	default:
		return false
	}
	fg, err := unix.IoctlGetInt(int(os.Stdin.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == syscall.Getpgrp()
}
