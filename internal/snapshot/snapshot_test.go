package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func write(t *testing.T, path string, h Header, body func(w *Writer)) {
	t.Helper()
	w, err := Create(path, h)
	if err != nil {
		t.Fatal(err)
	}
	body(w)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.snapshot")
	h := Header{Kind: "authz", Tenant: "t1", Revision: 1 << 40, Anchor: [32]byte{1, 31: 2}, Written: time.Unix(1700000000, 5).UTC()}
	g := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	write(t, path, h, func(w *Writer) {
		w.Byte(7)
		w.Uvarint(0)
		w.Uvarint(1<<64 - 1)
		w.String("")
		w.String("héllo")
		w.Bytes16(g)
	})
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Header != h {
		t.Errorf("header %+v, want %+v", r.Header, h)
	}
	if b := r.Byte(); b != 7 {
		t.Errorf("byte %d", b)
	}
	if x := r.Uvarint(); x != 0 {
		t.Errorf("uvarint %d", x)
	}
	if x := r.Uvarint(); x != 1<<64-1 {
		t.Errorf("uvarint %d", x)
	}
	if s := r.String(); s != "" {
		t.Errorf("string %q", s)
	}
	if s := r.String(); s != "héllo" {
		t.Errorf("string %q", s)
	}
	if b := r.Bytes16(); b != g {
		t.Errorf("bytes %v", b)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// Nothing but the file itself is left in the directory.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(entries))
	}
}

func TestDamagedFilesAreRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.snapshot")
	write(t, path, Header{Kind: "k", Tenant: "t", Revision: 3}, func(w *Writer) { w.String("some content") })
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x40
		p := filepath.Join(dir, "bad")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if r, err := Open(p); err == nil {
			r.Close()
			t.Fatalf("a file with byte %d flipped was accepted", i)
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("byte %d flipped: %v does not wrap ErrInvalid", i, err)
		}
	}
	for n := 0; n < len(good); n++ {
		p := filepath.Join(dir, "short")
		if err := os.WriteFile(p, good[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		if r, err := Open(p); err == nil {
			r.Close()
			t.Fatalf("a file cut to %d bytes was accepted", n)
		}
	}
}

// A reader that stops early, or reads past what was written, is told so
// by Close rather than given a silently partial index.
func TestCloseChecksTheEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.snapshot")
	write(t, path, Header{Kind: "k"}, func(w *Writer) { w.Uvarint(1); w.Uvarint(2) })
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Uvarint()
	if err := r.Close(); err == nil {
		t.Error("Close accepted a reader that left a record unread")
	}
	r, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	r.Uvarint()
	r.Uvarint()
	r.Uvarint() // the checksum's first byte, read as data
	if err := r.Close(); err == nil {
		t.Error("Close accepted a reader that read into the checksum")
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.snapshot")
	write(t, path, Header{Kind: "k"}, func(w *Writer) {})
	// What a process killed while writing leaves, and a neighbour.
	for _, name := range []string{".x.snapshot.123", ".x.snapshot.abc", "y.snapshot", ".y.snapshot.1"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveStale(path); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{".y.snapshot.1", "x.snapshot", "y.snapshot"}; !slices.Equal(left, want) {
		t.Errorf("left %v, want %v", left, want)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(filepath.Join(dir, "x.snapshot"), Header{Kind: "k"})
	if err != nil {
		t.Fatal(err)
	}
	w.String("partial")
	w.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("abort left %d files", len(entries))
	}
}

// FuzzReader feeds arbitrary bodies, with a valid checksum so that the
// decoder is reached, through every read: it must fail cleanly, never
// panic or allocate beyond MaxString per string.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0x01, 0x02, 0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x04})
	f.Fuzz(func(t *testing.T, body []byte) {
		var buf bytes.Buffer
		buf.WriteString(magic)
		buf.Write(binary.AppendUvarint(nil, format))
		buf.Write(body)
		buf.Write(binary.LittleEndian.AppendUint32(nil, crc32.Checksum(buf.Bytes(), castagnoli)))
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := Open(path)
		if err != nil {
			return
		}
		for i := 0; i < 64 && r.Err() == nil; i++ {
			switch r.Byte() % 4 {
			case 0:
				r.Uvarint()
			case 1:
				if len(r.String()) > MaxString {
					t.Fatal("string beyond MaxString")
				}
			case 2:
				r.Bytes16()
			}
		}
		r.Close()
	})
}

// Short strings share blocks (one object to the collector), long ones
// are allocated alone.
func TestShortStringsShareABlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.snapshot")
	long := strings.Repeat("x", arenaBlock)
	write(t, path, Header{Kind: "k"}, func(w *Writer) { w.String("first"); w.String("second"); w.String(long) })
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := r.String(), r.String(), r.String()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if a != "first" || b != "second" || c != long {
		t.Fatalf("read %q, %q and %d bytes", a, b, len(c))
	}
	if uintptr(unsafe.Pointer(unsafe.StringData(b)))-uintptr(unsafe.Pointer(unsafe.StringData(a))) != uintptr(len(a)) {
		t.Error("two short strings were allocated apart")
	}
}
