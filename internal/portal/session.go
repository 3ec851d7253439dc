package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
)

// Sign-in links and sessions live in the store, so that a link made on one
// replica signs in on another and Sign out ends a session everywhere. Only
// SHA-256 hashes of the link and session secrets are kept: the secrets are
// 256 random bits, so a fast hash is as good as a slow one, and someone who
// reads the database holds nothing a browser can present.
//
// Each kind is one meta value, a map from hash to record, rewritten (and
// pruned of what expired) by every change. Store.Update serializes writers,
// so consuming a link is a read-modify-write no two replicas can both win:
// a link is usable once.
const (
	metaLinks    = "portal.signInLinks"
	metaSessions = "portal.sessions"
)

// LinkLifetime is how long a sign-in link may be followed.
const LinkLifetime = 5 * time.Minute

// DefaultSessionLifetime is a browser session's lifetime unless configured.
const DefaultSessionLifetime = 8 * time.Hour

// principal is who a link or session acts as.
type principal struct {
	ObjectID    string `json:"oid"`
	AppID       string `json:"appid,omitempty"`
	TenantID    string `json:"tid,omitempty"`
	DisplayName string `json:"name,omitempty"`
}

func (p principal) caller() arm.Caller {
	return arm.Caller{ObjectID: p.ObjectID, AppID: p.AppID, TenantID: p.TenantID, DisplayName: p.DisplayName}
}

func principalOf(c arm.Caller) principal {
	return principal{ObjectID: c.ObjectID, AppID: c.AppID, TenantID: c.TenantID, DisplayName: c.DisplayName}
}

type linkRecord struct {
	Principal principal `json:"principal"`
	Expires   time.Time `json:"expires"`
}

type sessionRecord struct {
	Principal principal `json:"principal"`
	Expires   time.Time `json:"expires"`
	// CSRF is the session's synchronizer token, sent back in every form.
	CSRF string `json:"csrf"`
}

// session is a signed-in browser's state for one request.
type session struct {
	hash string
	sessionRecord
}

// errNoLink is a sign-in link that is unknown, used or expired: the three
// are not told apart, so that a guess learns nothing.
var errNoLink = errors.New("portal: sign-in link not valid")

func newSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func readMap[T any](ctx context.Context, tx store.Tx, key string) (map[string]T, error) {
	m := map[string]T{}
	raw, err := tx.GetMeta(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	return m, nil
}

func writeMap[T any](ctx context.Context, tx store.Tx, key string, m map[string]T) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return tx.PutMeta(ctx, key, b)
}

// createLink records a sign-in link for p and returns its secret.
func (p *Portal) createLink(ctx context.Context, who principal) (string, time.Time, error) {
	secret, now := newSecret(), p.cfg.Now()
	expires := now.Add(LinkLifetime)
	_, err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		links, err := readMap[linkRecord](ctx, tx, metaLinks)
		if err != nil {
			return err
		}
		for h, l := range links {
			if !now.Before(l.Expires) {
				delete(links, h)
			}
		}
		links[hashSecret(secret)] = linkRecord{Principal: who, Expires: expires}
		return writeMap(ctx, tx, metaLinks, links)
	})
	return secret, expires, err
}

// peekLink returns whom a link signs in as without using it up.
func (p *Portal) peekLink(ctx context.Context, secret string) (principal, error) {
	var who principal
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		links, err := readMap[linkRecord](ctx, tx, metaLinks)
		if err != nil {
			return err
		}
		l, ok := links[hashSecret(secret)]
		if !ok || !p.cfg.Now().Before(l.Expires) {
			return errNoLink
		}
		who = l.Principal
		return nil
	})
	return who, err
}

// consumeLink uses a link up and starts a session for its principal, in
// one transaction; it returns the session secret and record.
func (p *Portal) consumeLink(ctx context.Context, secret string) (string, sessionRecord, error) {
	sessionSecret, now := newSecret(), p.cfg.Now()
	var rec sessionRecord
	_, err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		links, err := readMap[linkRecord](ctx, tx, metaLinks)
		if err != nil {
			return err
		}
		h := hashSecret(secret)
		l, ok := links[h]
		if !ok || !now.Before(l.Expires) {
			return errNoLink
		}
		delete(links, h)
		if err := writeMap(ctx, tx, metaLinks, links); err != nil {
			return err
		}
		sessions, err := readMap[sessionRecord](ctx, tx, metaSessions)
		if err != nil {
			return err
		}
		for h, s := range sessions {
			if !now.Before(s.Expires) {
				delete(sessions, h)
			}
		}
		rec = sessionRecord{Principal: l.Principal, Expires: now.Add(p.cfg.SessionLifetime), CSRF: newSecret()}
		sessions[hashSecret(sessionSecret)] = rec
		return writeMap(ctx, tx, metaSessions, sessions)
	})
	return sessionSecret, rec, err
}

// lookupSession finds the live session of a cookie's secret.
func (p *Portal) lookupSession(ctx context.Context, secret string) (*session, error) {
	var s *session
	err := p.cfg.Store.View(ctx, func(tx store.Tx) error {
		sessions, err := readMap[sessionRecord](ctx, tx, metaSessions)
		if err != nil {
			return err
		}
		h := hashSecret(secret)
		if rec, ok := sessions[h]; ok && p.cfg.Now().Before(rec.Expires) {
			s = &session{hash: h, sessionRecord: rec}
		}
		return nil
	})
	return s, err
}

// endSession deletes a session (Sign out).
func (p *Portal) endSession(ctx context.Context, hash string) error {
	_, err := p.cfg.Store.Update(ctx, func(tx store.Tx) error {
		sessions, err := readMap[sessionRecord](ctx, tx, metaSessions)
		if err != nil {
			return err
		}
		delete(sessions, hash)
		return writeMap(ctx, tx, metaSessions, sessions)
	})
	return err
}
