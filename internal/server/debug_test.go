package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCheckDebugListen(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1:6060", true},
		{"[::1]:6060", true},
		{"localhost:6060", true},
		{"127.0.0.2:0", true},
		{"0.0.0.0:6060", false},
		{":6060", false},
		{"10.0.0.1:6060", false},
		{"example.com:6060", false},
		{"127.0.0.1", false},
	} {
		if err := checkDebugListen(tc.addr); (err == nil) != tc.ok {
			t.Errorf("checkDebugListen(%q) = %v", tc.addr, err)
		}
	}
}

// TestServeDebugServesProfiles: the listener serves pprof's index on the
// address it logs, and closes with its context.
func TestServeDebugServesProfiles(t *testing.T) {
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(t.Context())
	s := &Server{cfg: Config{DebugListen: "127.0.0.1:0", Logger: slog.New(slog.NewJSONHandler(&logs, nil))}}
	s.serveDebug(ctx)
	var line struct{ URL string }
	if err := json.Unmarshal(logs.Bytes(), &line); err != nil || line.URL == "" {
		t.Fatalf("log %q: %v", logs.String(), err)
	}
	resp, err := http.Get(line.URL + "goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "goroutine") {
		t.Fatalf("%s: %d %.200s", line.URL, resp.StatusCode, body)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(line.URL); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the debug listener outlived its context")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
