package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/directory"
	keyless "github.com/keyless-io/keyless/internal/server"
	"github.com/keyless-io/keyless/internal/snapshot"
)

// profileLoad loads the directory and the RBAC engine from the seeded
// store as the server does at start, and writes a heap profile of what
// they hold (after a GC, so live bytes only) to path: where the bytes of a
// large installation go. The keyring is not needed to index principals.
func profileLoad(ctx context.Context, o options, path string) error {
	st, err := openStore(ctx, o)
	if err != nil {
		return err
	}
	defer st.Close()
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	began := time.Now()
	dir := directory.New(st, nil)
	engine := authz.New()
	errs := make(chan error, 2)
	if o.fromSnapshot {
		// The snapshots the server keeps in the data directory.
		rd, err := snapshot.Open(filepath.Join(o.dataDir, keyless.DirectorySnapshotFile))
		if err != nil {
			return err
		}
		ra, err := snapshot.Open(filepath.Join(o.dataDir, keyless.AuthzSnapshotFile))
		if err != nil {
			return err
		}
		go func() { errs <- dir.LoadSnapshot(ctx, rd) }()
		go func() { errs <- engine.LoadSnapshot(ctx, st, ra) }()
	} else {
		go func() { errs <- dir.Reload(ctx) }()
		go func() { errs <- engine.LoadFrom(ctx, st) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			return err
		}
	}
	loaded := time.Since(began)
	if o.cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		return err
	}
	stats := engine.Stats()
	fmt.Printf("loaded %d principals and %d assignments in %.1f s; live heap %.0f MiB in %d objects; %.0f bytes per assignment+identity/5\n",
		dir.Loading(), stats.Assignments, loaded.Seconds(), float64(ms.HeapAlloc)/(1<<20), ms.HeapObjects,
		float64(ms.HeapAlloc)/float64(max(stats.Assignments, 1)))
	log.Printf("heap profile in %s (go tool pprof -sample_index=inuse_space -top %s)", path, path)
	runtime.KeepAlive(dir)
	runtime.KeepAlive(engine)
	return nil
}
