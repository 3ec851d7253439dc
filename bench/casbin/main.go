package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyless-io/keyless/internal/authz/authztest"
)

func main() {
	assignments := flag.Int("assignments", 100_000, "role assignments in the dataset (a divisor of 1,000,000; principals scale with it)")
	queries := flag.Int("queries", 20_000, "questions to time per engine")
	variants := flag.String("variants", "expand,domain-match", "Casbin variants to run")
	maxDomainMatch := flag.Int("max-domain-match", 10_000, "skip the domain-match variant above this many assignments (its load is quadratic)")
	flag.Parse()

	if *assignments <= 0 || 1_000_000%*assignments != 0 {
		log.Fatalf("-assignments must divide 1,000,000")
	}
	cfg := authztest.Scaled(1_000_000 / *assignments)
	cfg.Queries = *queries
	ds := authztest.Generate(cfg)
	fmt.Printf("dataset: %s; %d queries; GOMAXPROCS=%d\n\n", describe(ds), len(ds.Queries), runtime.GOMAXPROCS(0))

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\tload\theap after load\tns/check\tallowed\tvs keyless\t")

	heap0 := heapInUse()
	start := time.Now()
	keyless := loadKeyless(ds)
	keylessLoad := time.Since(start)
	keylessHeap := heapInUse() - heap0
	want := make([]bool, len(ds.Queries))
	start = time.Now()
	allowed := 0
	for i, q := range ds.Queries {
		want[i] = keyless.Allowed(q.PrincipalID, q.Action, q.Scope)
		if want[i] {
			allowed++
		}
	}
	keylessNS := float64(time.Since(start).Nanoseconds()) / float64(len(ds.Queries))
	fmt.Fprintf(tw, "keyless authz\t%v\t%d MiB\t%.0f\t%d\t1.0x\t\n", keylessLoad.Round(time.Millisecond), keylessHeap>>20, keylessNS, allowed)
	runtime.KeepAlive(keyless)

	for _, v := range strings.Split(*variants, ",") {
		variant := Variant(strings.TrimSpace(v))
		if variant == DomainMatch && *assignments > *maxDomainMatch {
			fmt.Fprintf(tw, "casbin %s\tskipped: load is quadratic; see -max-domain-match\t\t\t\t\t\n", variant)
			continue
		}
		runtime.GC()
		heap0 := heapInUse()
		start := time.Now()
		c, err := NewCasbin(ds, variant)
		if err != nil {
			log.Fatal(err)
		}
		load := time.Since(start)
		heap := heapInUse() - heap0
		// Time a prefix of the queries if a check is slow, but check every
		// timed answer against keyless.
		n, allowed, mismatches := 0, 0, 0
		start = time.Now()
		for i, q := range ds.Queries {
			got, err := c.Allowed(q.PrincipalID, q.Action, q.Scope)
			if err != nil {
				log.Fatal(err)
			}
			if got != want[i] {
				mismatches++
				if mismatches <= 3 {
					log.Printf("casbin %s disagrees on %+v: casbin %v, keyless %v", variant, q, got, want[i])
				}
			}
			if got {
				allowed++
			}
			n++
			if time.Since(start) > 30*time.Second {
				break
			}
		}
		ns := float64(time.Since(start).Nanoseconds()) / float64(n)
		fmt.Fprintf(tw, "casbin %s\t%v\t%d MiB\t%.0f\t%d of %d\t%.0fx\t\n", variant, load.Round(time.Millisecond), heap>>20, ns, allowed, n, ns/keylessNS)
		if mismatches > 0 {
			tw.Flush()
			log.Fatalf("casbin %s disagreed with keyless on %d of %d questions", variant, mismatches, n)
		}
		runtime.KeepAlive(c)
	}
	tw.Flush()
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
