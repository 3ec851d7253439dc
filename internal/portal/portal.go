// Package portal serves keyless's browser portal at /portal/: pages
// rendered on the server with html/template, their stylesheet and one small
// script embedded in the binary, nothing fetched from elsewhere, so that it
// works offline and needs no build step.
//
// A signed-in session acts as its principal: every read and every change
// is an ARM request sent in process to the front door as that principal
// (arm.WithCaller, through the same read-your-writes handler the
// deployment engine uses), so RBAC, linked authorization, validation and
// audit apply exactly as they do to the CLI. The portal never reads or
// writes domain state itself (only its own sign-in links and sessions) and
// never decides access: it asks the RBAC engine only to leave out controls
// the front door would refuse anyway.
//
// Sign-in has no password: `keyless portal` asks the ARM route
// POST /providers/Keyless.Portal/signInLinks for a one-time link bound to
// the CLI's principal. Sessions are HttpOnly, Secure, SameSite=Strict
// cookies; every change carries the session's synchronizer token and must
// come from the portal's own origin.
package portal

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/store"
)

// Path is where the portal is served.
const Path = "/portal/"

// APIVersion is the version of the Keyless.Portal route.
const APIVersion = "2025-01-01"

// SignInLinksPath is the ARM route that makes a sign-in link.
const SignInLinksPath = "/providers/Keyless.Portal/signInLinks"

// ActionSignInLink is the route's action; any authenticated principal may
// take it, for itself only: a session can do nothing its principal cannot.
const ActionSignInLink = "Keyless.Portal/signInLinks/action"

// Dispatcher sends one ARM request in process as caller, through the front
// door, and returns the status and body. path may carry a query.
type Dispatcher interface {
	Do(ctx context.Context, caller arm.Caller, method, path, apiVersion string, body []byte) (int, []byte, error)
}

// Config wires the portal.
type Config struct {
	Store store.Store
	ARM   Dispatcher
	// Allowed is the RBAC engine's decision; the portal uses it only to
	// leave out what the front door would refuse.
	Allowed func(principalID, action, scope string) bool
	// PrincipalExists ends the session of a principal that was deleted.
	PrincipalExists func(objectID string) bool
	// BaseURL is the server's public https origin (links, Origin checks).
	BaseURL         string
	SessionLifetime time.Duration
	Logger          *slog.Logger
	Now             func() time.Time
}

// Portal is the portal's handler and its ARM route.
type Portal struct {
	cfg   Config
	pages *pageSet
	mux   *http.ServeMux
}

//go:embed assets
var assets embed.FS

// New builds the portal.
func New(cfg Config) (*Portal, error) {
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = DefaultSessionLifetime
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := loadPages()
	if err != nil {
		return nil, err
	}
	p := &Portal{cfg: cfg, pages: pages, mux: http.NewServeMux()}
	p.routes()
	return p, nil
}

// Handler serves every path under /portal/ (and /portal itself).
func (p *Portal) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		if r.URL.Path == strings.TrimSuffix(Path, "/") {
			http.Redirect(w, r, Path, http.StatusSeeOther)
			return
		}
		p.mux.ServeHTTP(w, r)
	})
}

// securityHeaders: no script or style that is not the portal's own file
// (no inline code, so injected markup cannot run), no framing, no
// referrer to other sites (a sign-in link's secret is in its URL; within
// the portal the referrer stays, because with none at all browsers send
// "Origin: null" on form posts), nothing cached.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

func (p *Portal) routes() {
	static, _ := fs.Sub(assets, "assets")
	files := http.StripPrefix(Path+"static/", http.FileServerFS(static))
	p.mux.Handle("GET "+Path+"static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		files.ServeHTTP(w, r)
	}))
	p.mux.HandleFunc("GET "+Path+"signin", p.signInPage)
	p.mux.HandleFunc("POST "+Path+"signin", p.signIn)
	p.mux.HandleFunc("POST "+Path+"signout", p.change(p.signOut))
	p.mux.HandleFunc("GET "+Path+"{$}", p.read(p.home))
	p.mux.HandleFunc("GET "+Path+"groups", p.read(p.groupsPage))
	p.mux.HandleFunc("GET "+Path+"identities", p.read(p.identitiesPage))
	p.mux.HandleFunc("GET "+Path+"resource/{id...}", p.read(p.resourcePage))
	p.mux.HandleFunc("GET "+Path+"review", p.read(p.reviewPage))
	p.mux.HandleFunc("GET "+Path+"inventory", p.read(p.inventoryPage))
	p.mux.HandleFunc("GET "+Path+"inventory.md", p.read(p.inventoryMarkdown))
	p.mux.HandleFunc("GET "+Path+"activity", p.read(p.activityPage))
	for name, fn := range p.actions() {
		p.mux.HandleFunc("POST "+Path+"actions/"+name, p.change(fn))
	}
	p.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		p.renderStatus(w, r, http.StatusNotFound, "Not found", "There is no portal page at this address.")
	})
}

// Patterns are the server mux patterns the portal's pages need, each a
// literal second segment so none overlaps the token service's
// /{tenant}/oauth2/ and the like; any other path stays the front door's.
func (p *Portal) Patterns() []string {
	var out []string
	for _, s := range []string{"", "{$}", "static/", "signin", "signout", "groups", "identities", "resource/", "review",
		"inventory", "inventory.md", "activity", "actions/"} {
		out = append(out, Path+s)
	}
	out[0] = strings.TrimSuffix(Path, "/")
	return out
}

// RegisterARM adds the sign-in link route to the front door.
func (p *Portal) RegisterARM(s *arm.Server) {
	s.Handle(arm.Route{
		Name: "Portal_CreateSignInLink", Methods: []string{http.MethodPost}, Pattern: SignInLinksPath,
		APIVersions: arm.VersionPolicy{Versions: []string{APIVersion}}, Action: ActionSignInLink, Scope: "/",
		Access: arm.AccessAuthenticated, Sample: SignInLinksPath, Handler: p.createSignInLink,
	})
}

// SignInLink is the route's answer.
type SignInLink struct {
	URL       string    `json:"url"`
	ExpiresOn time.Time `json:"expiresOn"`
}

func (p *Portal) createSignInLink(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	secret, expires, err := p.createLink(r.Context(), principalOf(c.Caller))
	if err != nil {
		return err
	}
	link := strings.TrimRight(p.cfg.BaseURL, "/") + Path + "signin?token=" + url.QueryEscape(secret)
	arm.WriteJSON(w, http.StatusOK, SignInLink{URL: link, ExpiresOn: expires.UTC()})
	return nil
}

// Cookie names. __Host- binds the session cookie to this origin: Secure,
// Path=/, no Domain, so no sibling host can set or overwrite it.
const (
	sessionCookie = "__Host-keyless-portal"
	flashCookie   = "__Host-keyless-portal-flash"
)

func (p *Portal) setCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if value == "" {
		c.MaxAge = -1
	} else if !expires.IsZero() {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// sameOrigin refuses requests another site could have made a browser send:
// Sec-Fetch-Site when the browser sends it, and the Origin (or, without
// one, the Referer) must be this server's.
func (p *Portal) sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		ref, err := url.Parse(r.Header.Get("Referer"))
		if err != nil || ref.Host == "" {
			return false
		}
		origin = ref.Scheme + "://" + ref.Host
	}
	return origin == strings.TrimRight(p.cfg.BaseURL, "/") || origin == "https://"+r.Host
}

// request is one signed-in request: the session and the client acting as
// its principal.
type request struct {
	w       http.ResponseWriter
	r       *http.Request
	session *session
	arm     *client
}

type handler func(q *request) error

// signedIn finds the request's session; nil when there is none.
func (p *Portal) signedIn(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	s, err := p.lookupSession(r.Context(), c.Value)
	if err != nil {
		p.cfg.Logger.Warn("portal: reading sessions failed", "err", err)
		return nil
	}
	if s == nil || p.cfg.PrincipalExists != nil && !p.cfg.PrincipalExists(s.Principal.ObjectID) {
		return nil
	}
	return s
}

func (p *Portal) withSession(w http.ResponseWriter, r *http.Request) *request {
	s := p.signedIn(r)
	if s == nil {
		p.renderStatus(w, r, http.StatusUnauthorized, "Sign in",
			"You are not signed in, or your session ended. Run keyless portal --open for a one-time sign-in link.")
		return nil
	}
	return &request{w: w, r: r, session: s, arm: &client{p: p, ctx: r.Context(), caller: s.Principal.caller()}}
}

// read serves a page for a signed-in session.
func (p *Portal) read(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := p.withSession(w, r)
		if q == nil {
			return
		}
		if err := fn(q); err != nil {
			p.renderError(q, err)
		}
	}
}

// change serves a form post: same origin, signed in, the session's
// synchronizer token. Anything else is refused before the action runs.
func (p *Portal) change(fn handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !p.sameOrigin(r) {
			p.renderStatus(w, r, http.StatusForbidden, "Refused", "This change did not come from a portal page (cross-site request).")
			return
		}
		q := p.withSession(w, r)
		if q == nil {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		token := r.PostFormValue("csrf")
		if subtle.ConstantTimeCompare([]byte(token), []byte(q.session.CSRF)) != 1 {
			p.renderStatus(w, r, http.StatusForbidden, "Refused", "This form has expired or did not come from your session. Reload the page and try again.")
			return
		}
		if err := fn(q); err != nil {
			p.renderError(q, err)
		}
	}
}

// flash is a one-time message shown on the next page.
type flash struct {
	Kind    string `json:"k"` // "ok" or "error"
	Message string `json:"m"`
}

func (p *Portal) setFlash(w http.ResponseWriter, f flash) {
	if len(f.Message) > 1500 {
		f.Message = f.Message[:1500] + "…"
	}
	b, _ := json.Marshal(f)
	p.setCookie(w, flashCookie, base64.RawURLEncoding.EncodeToString(b), time.Time{})
}

func (p *Portal) takeFlash(w http.ResponseWriter, r *http.Request) *flash {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return nil
	}
	p.setCookie(w, flashCookie, "", time.Time{})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	var f flash
	if err != nil || json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &f
}

// done ends a change: a message for the next page, then back to where the
// form said (only portal paths), else to fallback.
func (q *request) done(f flash, fallback string) error {
	q.arm.p.setFlash(q.w, f)
	to := q.r.PostFormValue("return")
	if !strings.HasPrefix(to, Path) || strings.HasPrefix(to, "//") || strings.ContainsAny(to, "\\\r\n") {
		to = fallback
	}
	http.Redirect(q.w, q.r, to, http.StatusSeeOther)
	return nil
}

// failed ends a change the server refused: its message, then back.
func (q *request) failed(err error, fallback string) error {
	var ae *armError
	if !errors.As(err, &ae) {
		return err
	}
	return q.done(flash{Kind: "error", Message: ae.Error()}, fallback)
}

func (p *Portal) signInPage(w http.ResponseWriter, r *http.Request) {
	secret := r.URL.Query().Get("token")
	who, err := p.peekLink(r.Context(), secret)
	if err != nil {
		p.renderStatus(w, r, http.StatusForbidden, "Sign-in link not valid",
			"This sign-in link is not valid: it was used already, it expired (links last five minutes), or it was never issued. Run keyless portal --open for a new one.")
		return
	}
	p.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Data: map[string]any{"Token": secret, "Principal": who}})
}

func (p *Portal) signIn(w http.ResponseWriter, r *http.Request) {
	if !p.sameOrigin(r) {
		p.renderStatus(w, r, http.StatusForbidden, "Refused", "This sign-in did not come from the portal's own page (cross-site request).")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	secret, rec, err := p.consumeLink(r.Context(), r.PostFormValue("token"))
	if errors.Is(err, errNoLink) {
		p.renderStatus(w, r, http.StatusForbidden, "Sign-in link not valid",
			"This sign-in link is not valid: it was used already, it expired (links last five minutes), or it was never issued. Run keyless portal --open for a new one.")
		return
	}
	if err != nil {
		p.cfg.Logger.Error("portal: sign-in failed", "err", err)
		p.renderStatus(w, r, http.StatusInternalServerError, "Sign-in failed", "The server could not start a session; try again.")
		return
	}
	p.cfg.Logger.Info("portal: signed in", "oid", rec.Principal.ObjectID, "expires", rec.Expires)
	p.setCookie(w, sessionCookie, secret, rec.Expires)
	// A clean URL: the link's secret is gone from the address bar and the
	// history entry the browser keeps.
	http.Redirect(w, r, Path, http.StatusSeeOther)
}

func (p *Portal) signOut(q *request) error {
	if err := p.endSession(q.r.Context(), q.session.hash); err != nil {
		return err
	}
	p.setCookie(q.w, sessionCookie, "", time.Time{})
	p.renderStatus(q.w, q.r, http.StatusOK, "Signed out", "Your portal session has ended. Run keyless portal --open to sign in again.")
	return nil
}
