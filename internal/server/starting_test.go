package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHealthWhileIndexesLoad holds the index load open and checks what a
// starting replica answers: alive, not ready, and 503 with Retry-After in
// each front door's error shape; then ready once the load is done.
func TestHealthWhileIndexesLoad(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	loading, release := make(chan struct{}), make(chan struct{})
	testHookLoading = func() { close(loading); <-release }
	t.Cleanup(func() { testHookLoading = nil })

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		s   *Server
		err error
	}
	built := make(chan result, 1)
	go func() {
		s, err := New(ctx, Config{DataDir: filepath.Join(t.TempDir(), "data"), Listen: addr,
			ShutdownTimeout: 5 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		built <- result{s, err}
	}()
	select {
	case <-loading:
	case r := <-built:
		t.Fatalf("New returned before loading: %v", r.err)
	}
	// The certificate is the installation's; only its serving matters here.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get("https://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tests := []struct {
		path       string
		status     int
		retryAfter bool
		body       string // a JSON member that must be there, or text
	}{
		{"/healthz/live", http.StatusOK, false, "ok"},
		{"/healthz/ready", http.StatusServiceUnavailable, true, "not ready"},
		{"/subscriptions/x/resourceGroups?api-version=2021-04-01", http.StatusServiceUnavailable, true, `"code":"ServiceUnavailable"`},
		{"/organizations/oauth2/v2.0/token", http.StatusServiceUnavailable, true, `"error":"temporarily_unavailable"`},
	}
	for _, tc := range tests {
		resp, body := get(tc.path)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("%s while loading: %d %q, want %d with %s", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
		if got := resp.Header.Get("Retry-After") != ""; got != tc.retryAfter {
			t.Errorf("%s while loading: Retry-After %q", tc.path, resp.Header.Get("Retry-After"))
		}
		if strings.HasPrefix(body, "{") && !json.Valid([]byte(body)) {
			t.Errorf("%s: invalid JSON %q", tc.path, body)
		}
	}

	close(release)
	r := <-built
	if r.err != nil {
		t.Fatal(r.err)
	}
	served := make(chan error, 1)
	go func() { served <- r.s.Serve(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, _ := get("/healthz/ready")
		if resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after the load: %d", resp.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if resp, body := get("/subscriptions/x/resourceGroups?api-version=2021-04-01"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("ARM after the load: %d %s, want 401 (no token)", resp.StatusCode, body)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}
