package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// checkDebugListen accepts only loopback addresses for the profiling
// listener: profiles and goroutine dumps describe the process's memory and
// are served without authentication, so they must not leave the machine.
func checkDebugListen(addr string) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--debug-listen %q: must be a loopback address (127.0.0.1:port or [::1]:port): the profiles are served without authentication", addr)
	}
	return nil
}

// serveDebug serves Go's runtime profiles (net/http/pprof) on the
// configured loopback address until ctx ends: what an operator needs to
// see where a large installation spends its CPU and memory. A listener
// that cannot open is logged, not fatal: profiling is an aid, and the
// replica is serving already.
func (s *Server) serveDebug(ctx context.Context) {
	if s.cfg.DebugListen == "" {
		return
	}
	ln, err := net.Listen("tcp", s.cfg.DebugListen)
	if err != nil {
		s.cfg.Logger.Warn("cannot serve runtime profiles", "addr", s.cfg.DebugListen, "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Warn("debug listener stopped", "err", err)
		}
	}()
	s.cfg.Logger.Info("serving runtime profiles", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
}
