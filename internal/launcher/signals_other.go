//go:build !unix

package launcher

import "os"

var forwarded = []os.Signal{os.Interrupt}

func fromTerminal(os.Signal) bool { return false }
