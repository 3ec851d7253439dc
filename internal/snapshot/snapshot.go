// Package snapshot is the file format of the in-memory index snapshots a
// replica keeps in its data directory, so that a restart loads its
// directory and RBAC indexes from one sequential read of a compact file and
// then follows the store's change feed from the snapshot's revision,
// instead of reading and decoding every row of the store (at a million
// identities and five million role assignments the row read alone takes
// most of a minute).
//
// A snapshot is only ever a cache: it names the tenant and the revision it
// reflects, the reader checks a CRC-32C of everything before the trailer,
// and a snapshot that is missing, damaged, of another tenant or format, or
// newer than the store is ignored in favour of a full load. The indexes
// decide what goes in; this package only frames it: a header, then records
// made of bytes, unsigned varints and length-prefixed strings, then the
// checksum. Files are written beside their final name and renamed into
// place after an fsync, readable by their owner only.
package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unsafe"
)

// magic opens every snapshot file; format is bumped whenever an index
// changes what it writes, so that an older file is ignored rather than
// misread.
const (
	magic  = "keyless-index-snapshot\n"
	format = 1
)

// MaxString bounds one string in a snapshot: nothing an index holds comes
// near it, and a damaged length must not make the reader allocate
// gigabytes before the checksum can fail.
const MaxString = 1 << 20

// ErrInvalid is wrapped by every error about a file's content (as opposed
// to not being able to read it at all).
var ErrInvalid = errors.New("snapshot: invalid file")

// Header says what a snapshot holds and which state it reflects.
type Header struct {
	// Kind names the index ("directory", "authz").
	Kind string
	// Tenant is the tenant of the store the snapshot was taken from.
	Tenant string
	// Revision is a store revision the index reflected in full when the
	// snapshot was taken: every change up to it is in, and later ones may
	// be too (replaying those is harmless, because applying a change
	// re-reads current state).
	Revision int64
	// Anchor fingerprints the store's history at Revision (the caller's
	// digest of the changes recorded under it), so that a store restored
	// from a backup and written past the revision since is told apart
	// from the one the snapshot was taken of.
	Anchor  [32]byte
	Written time.Time
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Writer writes one snapshot file.
type Writer struct {
	f    *os.File
	path string
	w    *bufio.Writer
	sum  hash.Hash32
	err  error
	buf  [binary.MaxVarintLen64]byte
}

// Create starts a snapshot that will replace path when Commit succeeds.
func Create(path string, h Header) (*Writer, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	w := &Writer{f: f, path: path, sum: crc32.New(castagnoli)}
	w.w = bufio.NewWriterSize(io.MultiWriter(f, w.sum), 1<<20)
	w.raw([]byte(magic))
	w.Uvarint(format)
	w.String(h.Kind)
	w.String(h.Tenant)
	w.Uvarint(uint64(h.Revision))
	w.Bytes16([16]byte(h.Anchor[:16]))
	w.Bytes16([16]byte(h.Anchor[16:]))
	w.Uvarint(uint64(h.Written.UnixNano()))
	return w, w.err
}

func (w *Writer) raw(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

// Byte writes one byte.
func (w *Writer) Byte(b byte) {
	if w.err == nil {
		w.err = w.w.WriteByte(b)
	}
}

// Uvarint writes an unsigned varint.
func (w *Writer) Uvarint(x uint64) { w.raw(w.buf[:binary.PutUvarint(w.buf[:], x)]) }

// Bytes16 writes 16 bytes as they are (GUIDs).
func (w *Writer) Bytes16(b [16]byte) { w.raw(b[:]) }

// String writes a length-prefixed string.
func (w *Writer) String(s string) {
	if len(s) > MaxString && w.err == nil {
		w.err = fmt.Errorf("snapshot: a string of %d bytes is too long", len(s))
	}
	w.Uvarint(uint64(len(s)))
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

// Err is the first error writing met.
func (w *Writer) Err() error { return w.err }

// Commit writes the checksum, syncs the file and renames it into place.
func (w *Writer) Commit() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err == nil {
		var sum [4]byte
		binary.LittleEndian.PutUint32(sum[:], w.sum.Sum32())
		_, w.err = w.f.Write(sum[:])
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	if w.err == nil {
		w.err = os.Rename(w.f.Name(), w.path)
	}
	if w.err != nil {
		os.Remove(w.f.Name())
	}
	return w.err
}

// RemoveStale deletes what unfinished writes of path left behind (a
// process killed while writing): each would otherwise keep hundreds of
// megabytes of a large installation. Call it only while no Writer of path
// is open.
func RemoveStale(path string) error {
	stale, err := filepath.Glob(filepath.Join(filepath.Dir(path), "."+globEscape(filepath.Base(path))+".*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Abort discards the snapshot being written.
func (w *Writer) Abort() {
	w.f.Close()
	os.Remove(w.f.Name())
}

// Reader reads one snapshot file whose checksum Open has verified. Its
// methods never panic on bad input: the first problem is kept (Err) and
// every later read returns zero values, so an index can decode a whole
// section and check once.
type Reader struct {
	f      *os.File
	r      *bufio.Reader
	err    error
	arena  []byte // the block String cuts short strings from
	Header Header
	// Size is the file's size in bytes, a measure of how much the
	// snapshot holds that is known before it is read.
	Size int64
}

// Open checks the file's checksum, opens it and reads its header. A file
// that does not exist gives an error satisfying errors.Is(err,
// fs.ErrNotExist). The checksum is verified first, in one streamed pass,
// so that nothing of a damaged file is ever built into an index.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	size, err := verify(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	r := &Reader{f: f, r: bufio.NewReaderSize(f, 1<<20), Size: size}
	var m [len(magic)]byte
	r.read(m[:])
	if r.err == nil && string(m[:]) != magic {
		r.fail("not a snapshot")
	}
	if v := r.Uvarint(); r.err == nil && v != format {
		r.fail(fmt.Sprintf("format %d, this version reads %d", v, format))
	}
	r.Header.Kind = r.String()
	r.Header.Tenant = r.String()
	r.Header.Revision = int64(r.Uvarint())
	a, b := r.Bytes16(), r.Bytes16()
	copy(r.Header.Anchor[:16], a[:])
	copy(r.Header.Anchor[16:], b[:])
	r.Header.Written = time.Unix(0, int64(r.Uvarint())).UTC()
	if r.err != nil {
		f.Close()
		return nil, r.err
	}
	return r, nil
}

// verify checks that the file ends in the CRC-32C of everything before
// it, rewinds it and returns its size.
func verify(f *os.File) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	size := st.Size()
	if size < int64(len(magic))+4 {
		return 0, fmt.Errorf("%w: truncated", ErrInvalid)
	}
	sum := crc32.New(castagnoli)
	if _, err := io.Copy(sum, io.NewSectionReader(f, 0, size-4)); err != nil {
		return 0, err
	}
	var want [4]byte
	if _, err := f.ReadAt(want[:], size-4); err != nil {
		return 0, err
	}
	if binary.LittleEndian.Uint32(want[:]) != sum.Sum32() {
		return 0, fmt.Errorf("%w: checksum mismatch", ErrInvalid)
	}
	_, err = f.Seek(0, io.SeekStart)
	return size, err
}

func (r *Reader) fail(why string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrInvalid, why)
	}
}

func (r *Reader) read(b []byte) {
	if r.err != nil {
		clear(b)
		return
	}
	if _, err := io.ReadFull(r.r, b); err != nil {
		r.readFailed(err)
		clear(b)
	}
}

func (r *Reader) readFailed(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		r.fail("truncated")
	} else if r.err == nil {
		r.err = err
	}
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil {
		return 0
	}
	b, err := r.r.ReadByte()
	if err != nil {
		r.readFailed(err)
		return 0
	}
	return b
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	x, err := binary.ReadUvarint(r.r)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			r.fail("truncated")
		} else {
			r.fail("bad varint")
		}
		return 0
	}
	return x
}

// Bytes16 reads 16 bytes.
func (r *Reader) Bytes16() (b [16]byte) {
	r.read(b[:])
	return b
}

// String reads a length-prefixed string. Short strings are cut from
// shared 64 KiB blocks rather than allocated one by one: an index read
// from a snapshot keeps millions of them (scope segments, IDs, names) for
// as long as it lives, and to the collector a block is one object with
// no pointers to follow where the strings would be millions. A string
// kept alone keeps its block alive, which bounds what churn can pin to
// the size of the snapshot's strings.
func (r *Reader) String() string {
	n := r.Uvarint()
	if n > MaxString {
		r.fail("string too long")
		return ""
	}
	if r.err != nil || n == 0 {
		return ""
	}
	var b []byte
	if n > arenaBlock/16 {
		b = make([]byte, n)
	} else {
		if uint64(cap(r.arena)-len(r.arena)) < n {
			r.arena = make([]byte, 0, arenaBlock)
		}
		start := len(r.arena)
		r.arena = r.arena[:start+int(n)]
		b = r.arena[start : start+int(n) : start+int(n)]
	}
	r.read(b)
	if r.err != nil {
		return ""
	}
	// b is not written again: hand it over rather than copy it.
	return unsafe.String(&b[0], len(b))
}

const arenaBlock = 64 << 10

// Fail records a problem the index found in what it read (a reference to
// a record that was never defined, say).
func (r *Reader) Fail(why string) { r.fail(why) }

// Err is the first problem reading met.
func (r *Reader) Err() error { return r.err }

// Close checks that what the index read is followed by the checksum and
// nothing else, and closes the file. Only a nil answer means what was
// read can be used.
func (r *Reader) Close() error {
	defer r.f.Close()
	if r.err != nil {
		return r.err
	}
	var sum [4]byte
	if _, err := io.ReadFull(r.r, sum[:]); err != nil {
		return fmt.Errorf("%w: truncated", ErrInvalid)
	}
	if _, err := r.r.ReadByte(); err == nil {
		return fmt.Errorf("%w: data after the end", ErrInvalid)
	}
	return nil
}
