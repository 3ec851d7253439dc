package audit

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRecords(t *testing.T, path string, msgs ...string) {
	t.Helper()
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(w.Handler()).With("log", "audit")
	for _, m := range msgs {
		log.Info(m, "oid", "0d1e2f30", "action", "Microsoft.Web/sites/write")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestChainSurvivesReopenAndDetectsTampering(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	writeRecords(t, path, "arm request", "token issued")
	writeRecords(t, path, "token refused") // reopened: the chain continues
	f, _ := os.Open(path)
	res, err := Verify(f)
	f.Close()
	if err != nil || res.Records != 3 || len(res.Head) != 64 {
		t.Fatalf("verify: %+v %v", res, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	orig, _ := os.ReadFile(path)
	lines := strings.SplitAfter(strings.TrimRight(string(orig), "\n"), "\n")

	tests := []struct {
		name   string
		tamper func() string
	}{
		{"a field edited", func() string { return strings.Replace(string(orig), "token issued", "token issueD", 1) }},
		{"a record removed", func() string { return lines[0] + lines[2] }},
		{"records reordered", func() string { return lines[1] + lines[0] + lines[2] }},
		{"a record without a hash appended", func() string { return string(orig) + `{"msg":"forged"}` + "\n" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(strings.NewReader(tc.tamper())); err == nil {
				t.Fatal("tampering went unnoticed")
			}
		})
	}
	// A broken file is not appended to.
	bad := filepath.Join(t.TempDir(), "bad.log")
	os.WriteFile(bad, []byte(tests[0].tamper()), 0o600)
	if _, err := Open(bad); err == nil {
		t.Fatal("appending to a broken chain")
	}
}

func TestNoRecordIsLostUnderConcurrency(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(w.Handler())
	done := make(chan bool)
	for g := range 8 {
		go func() {
			for i := range 100 {
				log.Info("token issued", "g", g, "i", i)
			}
			done <- true
		}()
	}
	for range 8 {
		<-done
	}
	w.Close()
	b, _ := os.ReadFile(path)
	res, err := Verify(bytes.NewReader(b))
	if err != nil || res.Records != 800 {
		t.Fatalf("%+v %v", res, err)
	}
}
