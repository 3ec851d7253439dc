// Package audit owns the audit log file: JSON lines chained by SHA-256 so
// that editing, removing or reordering any record breaks the chain from
// that record on. It never records secrets (callers log identifiers only)
// and never rewrites what it wrote.
//
// A chain proves the file is what the server wrote, up to the last record:
// someone who can write the file could rewrite the whole chain, or cut its
// tail. Keep the head `keyless audit verify` prints (or ship the file)
// somewhere the server's host cannot change, and compare.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
)

// genesis is the hash before the first record.
var genesis = make([]byte, sha256.Size)

// chainSuffix is how a record carries its hash: appended as the last member.
const chainKey = `,"chain":"`

// Writer appends chained records to a file.
type Writer struct {
	mu   sync.Mutex
	f    *os.File
	prev []byte
}

// Open opens (or creates, mode 0600) an audit file for appending, and
// continues the chain from its last record. A file whose chain is broken
// is refused: appending would hide the break.
func Open(path string) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	res, err := Verify(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: %w; move it aside to start a new chain", path, err)
	}
	prev := genesis
	if res.Records > 0 {
		prev, _ = hex.DecodeString(res.Head)
	}
	return &Writer{f: f, prev: prev}, nil
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// write appends one JSON object (without newline) with its chain hash.
func (w *Writer) write(record []byte) error {
	record = bytes.TrimRight(record, "\n")
	if len(record) < 2 || record[len(record)-1] != '}' {
		return errors.New("audit: record is not a JSON object")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	sum := link(w.prev, record)
	line := make([]byte, 0, len(record)+len(chainKey)+sha256.Size*2+3)
	line = append(line, record[:len(record)-1]...)
	line = append(line, chainKey...)
	line = hex.AppendEncode(line, sum)
	line = append(line, '"', '}', '\n')
	if _, err := w.f.Write(line); err != nil {
		return err
	}
	w.prev = sum
	return nil
}

func link(prev, record []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	h.Write(record)
	return h.Sum(nil)
}

// Handler returns a slog handler that writes JSON records to w.
func (w *Writer) Handler() slog.Handler {
	return &handler{w: w}
}

// handler formats each record with slog's JSON handler, then chains it.
type handler struct {
	w     *Writer
	attrs []slog.Attr
	group string
}

func (h *handler) Enabled(context.Context, slog.Level) bool { return true }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	var buf bytes.Buffer
	var inner slog.Handler = slog.NewJSONHandler(&buf, nil)
	if len(h.attrs) > 0 {
		inner = inner.WithAttrs(h.attrs)
	}
	if h.group != "" {
		inner = inner.WithGroup(h.group)
	}
	if err := inner.Handle(ctx, r); err != nil {
		return err
	}
	return h.w.write(buf.Bytes())
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &handler{w: h.w, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...), group: h.group}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{w: h.w, attrs: h.attrs, group: name}
}

// Result is what Verify found.
type Result struct {
	Records int    `json:"records"`
	Head    string `json:"head"`
}

// Verify checks the whole chain of an audit file and returns the number of
// records and the hash of the last one.
func Verify(r io.Reader) (Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	prev := genesis
	n := 0
	for sc.Scan() {
		n++
		line := sc.Bytes()
		i := bytes.LastIndex(line, []byte(chainKey))
		if i < 0 || !bytes.HasSuffix(line, []byte(`"}`)) {
			return Result{}, fmt.Errorf("record %d has no chain hash", n)
		}
		got, err := hex.DecodeString(string(line[i+len(chainKey) : len(line)-2]))
		if err != nil || len(got) != sha256.Size {
			return Result{}, fmt.Errorf("record %d has a malformed chain hash", n)
		}
		record := append(append([]byte(nil), line[:i]...), '}')
		if !json.Valid(record) {
			return Result{}, fmt.Errorf("record %d is not JSON", n)
		}
		want := link(prev, record)
		if !bytes.Equal(got, want) {
			return Result{}, fmt.Errorf("record %d breaks the chain: it, or a record before it, was changed, removed or reordered", n)
		}
		prev = got
	}
	if err := sc.Err(); err != nil {
		return Result{}, err
	}
	return Result{Records: n, Head: hex.EncodeToString(prev)}, nil
}
