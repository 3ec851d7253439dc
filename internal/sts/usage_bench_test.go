package sts

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/internal/usage"
)

// BenchmarkTokenGrantUsage is the client-credentials grant through the
// token endpoint (form parsing, the secret check, one RS256 signature,
// the JSON answer), with usage tracking off and on in the same run: the
// "on" case records every minted token in a usage.Recorder, as the server
// wires it. Run with -count to interleave the two:
//
//	go test ./internal/sts -run '^$' -bench TokenGrantUsage -benchtime 3s -count 5
func BenchmarkTokenGrantUsage(b *testing.B) {
	for _, tracking := range []bool{false, true} {
		name := "usage=off"
		if tracking {
			name = "usage=on"
		}
		b.Run(name, func(b *testing.B) {
			h := newHarness(b, func(cfg *Config) {
				if tracking {
					rec := usage.NewRecorder(usage.Options{})
					cfg.Issuer.Issued = func(c token.Claims) { rec.TokenIssued(c.ObjectID, c.Audience) }
				}
			})
			body := secretBody(testAppID, testSecret)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if w := h.do(request{header: form(), body: body}); w.Code != http.StatusOK {
						b.Errorf("grant: %d %s", w.Code, w.Body)
						return
					}
				}
			})
			// CPU per grant is the figure to compare: the wall-clock rate
			// moves with whatever else runs on the machine's cores.
			b.ReportMetric(float64((processCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/grant")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "grants/s")
		})
	}
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
