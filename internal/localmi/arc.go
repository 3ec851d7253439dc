package localmi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// DefaultArcTokenDir is the only directory the Linux clients accept key
// files from (§2.5).
const DefaultArcTokenDir = "/var/opt/azcmagent/tokens"

// ErrTooManyChallenges means too many challenges are outstanding.
var ErrTooManyChallenges = errors.New("localmi: too many outstanding Arc challenges")

// ArcKeys issues Arc challenges: a fresh random key in a new file per
// challenge, readable only by the agent's user (or, with a group, by its
// members too), so only a local process with that privilege can answer.
// A key works once and expires after TTL; its file is deleted either way.
type ArcKeys struct {
	Dir string
	// GID is the group that may read key files, or -1 for none.
	GID int
	TTL time.Duration
	// Max bounds outstanding challenges (files on disk).
	Max int
	Now func() time.Time

	mu   sync.Mutex
	keys map[string]arcKey // by path
}

type arcKey struct {
	secret  []byte
	expires time.Time
}

// NewArcKeys prepares dir: created 0700 if missing (0750 with a group),
// and refused if others may write to it.
func NewArcKeys(dir string, gid int) (*ArcKeys, error) {
	if dir == "" {
		dir = DefaultArcTokenDir
	}
	mode := os.FileMode(0o700)
	if gid >= 0 {
		mode = 0o750
	}
	// Parents stay traversable so members of the group can reach the
	// files; the directory itself is the gate.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("arc token directory: %w", err)
	}
	if err := os.Mkdir(dir, mode); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("arc token directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("arc token directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, fmt.Errorf("arc token directory %s is writable by group or others (%v); anyone could plant key files", dir, fi.Mode().Perm())
	}
	if gid >= 0 {
		if err := os.Chown(dir, -1, gid); err != nil {
			return nil, fmt.Errorf("arc token directory: %w", err)
		}
		if err := os.Chmod(dir, fi.Mode().Perm()|0o050); err != nil {
			return nil, err
		}
	}
	return &ArcKeys{Dir: dir, GID: gid, TTL: time.Minute, Max: 1024, keys: map[string]arcKey{}}, nil
}

func (a *ArcKeys) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Challenge writes a new key file and returns its path.
func (a *ArcKeys) Challenge() (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.sweep(now)
	if len(a.keys) >= a.Max {
		return "", ErrTooManyChallenges
	}
	raw := make([]byte, 32)
	name := make([]byte, 16)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	if _, err := rand.Read(name); err != nil {
		return "", err
	}
	// The file's bytes are sent verbatim after "Basic ": base64url text,
	// no trailing newline, far below the 4096-byte limit.
	secret := []byte(base64.RawURLEncoding.EncodeToString(raw))
	path := filepath.Join(a.Dir, hex.EncodeToString(name)+".key")
	mode := os.FileMode(0o600)
	if a.GID >= 0 {
		mode = 0o640
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return "", err
	}
	_, werr := f.Write(secret)
	cerr := f.Close()
	if err := errors.Join(werr, cerr, a.setOwnership(path, mode)); err != nil {
		_ = os.Remove(path)
		return "", err
	}
	a.keys[path] = arcKey{secret: secret, expires: now.Add(a.TTL)}
	return path, nil
}

func (a *ArcKeys) setOwnership(path string, mode os.FileMode) error {
	if a.GID >= 0 {
		if err := os.Chown(path, -1, a.GID); err != nil {
			return err
		}
	}
	return os.Chmod(path, mode) // the umask may have narrowed it
}

// Verify accepts the contents of an outstanding key file, once.
func (a *ArcKeys) Verify(answer string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.sweep(now)
	for path, k := range a.keys {
		if subtle.ConstantTimeCompare(k.secret, []byte(answer)) == 1 {
			delete(a.keys, path)
			_ = os.Remove(path)
			return true
		}
	}
	return false
}

// Outstanding is the number of unanswered challenges.
func (a *ArcKeys) Outstanding() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.keys)
}

// Expire deletes the files of expired challenges (run periodically, so
// that unanswered keys do not linger on disk).
func (a *ArcKeys) Expire() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sweep(a.now())
}

// Close deletes every outstanding key file.
func (a *ArcKeys) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for path := range a.keys {
		_ = os.Remove(path)
		delete(a.keys, path)
	}
}

func (a *ArcKeys) sweep(now time.Time) {
	for path, k := range a.keys {
		if !now.Before(k.expires) {
			_ = os.Remove(path)
			delete(a.keys, path)
		}
	}
}
