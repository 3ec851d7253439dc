package server

import (
	"context"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// Memory limit policies (Config.MemoryLimit).
const (
	MemoryLimitAuto = "auto"
	MemoryLimitOff  = "off"
)

// memoryHeadroomMin is the least room the automatic limit leaves above the
// live heap: the garbage of a burst of requests, and of a reload.
const memoryHeadroomMin = 512 << 20

// memoryLimitInterval is how often the automatic limit follows the heap.
const memoryLimitInterval = 30 * time.Second

// parseMemoryLimit reads --memory-limit: "auto", "off", or a size in
// bytes with an optional KiB, MiB or GiB suffix.
func parseMemoryLimit(s string) (auto bool, limit int64, err error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", MemoryLimitAuto:
		return true, 0, nil
	case MemoryLimitOff:
		return false, 0, nil
	}
	num, unit := s, int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			num, unit = strings.TrimSuffix(s, u.suffix), u.n
			break
		}
	}
	n, perr := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if perr != nil || n <= 0 || n*float64(unit) > math.MaxInt64/2 {
		return false, 0, fmt.Errorf("--memory-limit %q: want auto, off, or a size such as 3GiB", s)
	}
	return false, int64(n * float64(unit)), nil
}

// autoMemoryLimit is the soft limit for a live heap: the live heap plus
// half again, at least memoryHeadroomMin. Below 512 MiB of live heap it is
// above GOGC=100's goal (twice the live heap) and changes nothing; above,
// it caps the goal, so that a replica holding a million identities does
// not grow to twice its indexes between collections.
func autoMemoryLimit(live uint64) int64 {
	return int64(live + max(live/2, memoryHeadroomMin))
}

// applyMemoryLimit sets the configured limit and, for "auto", follows the
// live heap until ctx ends. GOMEMLIMIT in the environment wins over
// everything: it is the Go runtime's own setting, read at start.
func (s *Server) applyMemoryLimit(ctx context.Context) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	auto, limit, err := parseMemoryLimit(s.cfg.MemoryLimit)
	if err != nil { // checked in New
		return
	}
	if !auto {
		if limit > 0 {
			debug.SetMemoryLimit(limit)
		}
		return
	}
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	follow := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			debug.SetMemoryLimit(autoMemoryLimit(sample[0].Value.Uint64()))
		}
	}
	follow()
	go func() {
		t := time.NewTicker(memoryLimitInterval)
		defer t.Stop()
		defer debug.SetMemoryLimit(math.MaxInt64)
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				follow()
			}
		}
	}()
}
