package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// Process is the child to run.
type Process struct {
	Args   []string
	Env    []string // default: os.Environ()
	Dir    string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Run starts the launch, runs the child with the App Service variables,
// forwards signals to it, and revokes the grant when it exits. It returns
// the child's exit code (128 + signal number when a signal ended it, as a
// shell reports it); err is set only when the child could not be run.
func Run(ctx context.Context, opts Options, p Process) (int, error) {
	if len(p.Args) == 0 {
		return 0, errors.New("no command to run")
	}
	path, err := exec.LookPath(p.Args[0])
	if err != nil {
		return 127, err
	}
	l, err := Start(ctx, opts)
	if err != nil {
		return 1, err
	}
	defer func() {
		if err := l.Close(); err != nil {
			fmt.Fprintln(stderrOf(p), "keyless run: revoking the launch grant failed:", err)
		}
	}()
	env := p.Env
	if env == nil {
		env = os.Environ()
	}
	cmd := exec.Command(path, p.Args[1:]...)
	cmd.Args[0] = p.Args[0]
	cmd.Env = l.Env(env)
	cmd.Dir = p.Dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.Stdin, p.Stdout, p.Stderr

	// Catch the signals before starting, so none is lost in between.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 126, err
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if !fromTerminal(s) {
					_ = cmd.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	waitErr := cmd.Wait()
	close(done)
	return exitCode(cmd.ProcessState, waitErr), nil
}

func exitCode(ps *os.ProcessState, err error) int {
	if ps == nil {
		if err != nil {
			return 1
		}
		return 0
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

func stderrOf(p Process) io.Writer {
	if p.Stderr != nil {
		return p.Stderr
	}
	return os.Stderr
}
