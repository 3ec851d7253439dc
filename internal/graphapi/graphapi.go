// Package graphapi is keyless's Microsoft Graph v1.0 front door: the
// directory's applications, service principals, groups, directory roles
// and organization, in Graph's wire shapes, for the Graph SDKs, the Azure
// CLI's `az ad` commands and scripts written against Entra.
//
// It is a second door over the one directory the token service reads, not
// a second directory: an application created here is the application whose
// credentials sign its service principal in at once, and a service
// principal made with `keyless sp` is listed here. It owns the wire shapes,
// the OData query options and Entra's default authorization (members of the
// tenant read the directory; writes need a directory role); it never
// mints tokens and never touches SQL.
package graphapi

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
)

// Prefix is where the front door is mounted.
const Prefix = "/v1.0/"

// Audiences Graph tokens carry besides the keyless URL: what the Graph
// SDK's default scope, the Azure CLI's cloud registration and Entra's
// first-party application ID name.
var Audiences = []string{
	"https://graph.microsoft.com",
	"https://graph.microsoft.com/",
	"00000003-0000-0000-c000-000000000000",
}

// Config wires the front door.
type Config struct {
	Store     store.Store
	Keyring   *keyring.Keyring
	Directory *directory.Directory
	TenantID  string
	// BaseURL is the keyless URL (no trailing slash); @odata links are
	// built from it, and tokens for it are accepted too.
	BaseURL string
	// Verify checks a bearer token's signature, issuer and times.
	Verify func(raw string) (token.Claims, error)
	// WaitFor returns once this replica's indexes reflect rev, so a
	// secret added here signs in at the token service at once.
	WaitFor func(ctx context.Context, rev int64) error
	Logger  *slog.Logger
	// Audit receives one record per change and per refusal, as the ARM
	// front door writes them; plain successful reads are not audited.
	Audit *slog.Logger
	// Now is the clock (tests).
	Now func() time.Time
}

// Service serves Graph.
type Service struct {
	cfg       Config
	audiences map[string]bool
}

// New builds the front door.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Audit == nil {
		cfg.Audit = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, audiences: map[string]bool{cfg.BaseURL: true, cfg.BaseURL + "/": true}}
	for _, a := range Audiences {
		s.audiences[a] = true
	}
	return s
}

// graphError is an answer in Graph's error shape.
type graphError struct {
	status  int
	code    string
	message string
}

func (e *graphError) Error() string { return e.code + ": " + e.message }

func errorf(status int, code, format string, args ...any) *graphError {
	return &graphError{status, code, fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *graphError {
	return errorf(http.StatusBadRequest, "Request_BadRequest", format, args...)
}

func notFound(id string) *graphError {
	return errorf(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '%s' does not exist or one of its queried reference-property objects are not present.", clip(id))
}

var errDenied = errorf(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")

// call is one request being served.
type call struct {
	w               http.ResponseWriter
	r               *http.Request
	segs            []string
	caller          token.Claims
	requestID       string
	clientRequestID string
}

// ServeHTTP serves every path under /v1.0/.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.cfg.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w = rec
	c := &call{w: w, r: r, requestID: uuid.NewString(), clientRequestID: r.Header.Get("client-request-id")}
	defer func() {
		if rec.status < 400 && (r.Method == http.MethodGet || r.Method == http.MethodHead || isQuery(c)) {
			return
		}
		s.cfg.Audit.Info("graph request", "requestId", c.requestID, "clientRequestId", c.clientRequestID,
			"method", r.Method, "path", clip(r.URL.Path), "oid", c.caller.ObjectID, "appid", c.caller.AppID,
			"status", rec.status, "duration", s.cfg.Now().Sub(start))
	}()
	if c.clientRequestID == "" {
		c.clientRequestID = c.requestID
	}
	w.Header().Set("request-id", c.requestID)
	w.Header().Set("client-request-id", c.clientRequestID)
	w.Header().Set("x-ms-ags-diagnostic", `{"ServerInfo":{"DataCenter":"keyless"}}`)
	var err error
	if c.caller, err = s.authenticate(r); err == nil {
		c.segs, err = splitPath(r.URL)
		if err == nil {
			err = s.route(c)
		}
	}
	if err != nil {
		s.writeError(c, err)
	}
}

// statusRecorder keeps the status answered, for the audit record.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// isQuery says whether a POST changes nothing (getByIds, the member
// checks): those are reads, and auditing each would drown the changes.
func isQuery(c *call) bool {
	if len(c.segs) == 0 {
		return false
	}
	switch action(c.segs[len(c.segs)-1]) {
	case "getbyids", "checkmembergroups", "getmembergroups", "checkmemberobjects", "getmemberobjects":
		return true
	}
	return false
}

// splitPath cuts the escaped path after /v1.0/ into unescaped segments.
func splitPath(u *url.URL) ([]string, error) {
	rest := strings.TrimPrefix(u.EscapedPath(), "/v1.0")
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return nil, nil
	}
	segs := strings.Split(rest, "/")
	for i, seg := range segs {
		v, err := url.PathUnescape(seg)
		if err != nil {
			return nil, badRequest("Invalid request path segment '%s'.", clip(seg))
		}
		segs[i] = v
	}
	return segs, nil
}

func (s *Service) authenticate(r *http.Request) (token.Claims, error) {
	h := r.Header.Get("Authorization")
	scheme, raw, ok := strings.Cut(h, " ")
	raw = strings.TrimSpace(raw)
	if h == "" || !ok || !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return token.Claims{}, errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	}
	claims, err := s.cfg.Verify(raw)
	switch {
	case errors.Is(err, token.ErrExpired):
		return claims, errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
	case err != nil:
		return claims, errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
	case !s.audiences[claims.Audience]:
		return claims, errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	case !strings.EqualFold(claims.TenantID, s.cfg.TenantID):
		return claims, errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid issuer tenant.")
	}
	// A token outlives its principal's deletion (as in Entra), but a
	// deleted principal is no longer a member of the tenant.
	if _, ok := s.cfg.Directory.ByObjectID(claims.ObjectID); !ok {
		return claims, errorf(http.StatusUnauthorized, "InvalidAuthenticationToken", "The principal of the access token does not exist in the directory.")
	}
	return claims, nil
}

// writeError answers in Graph's shape; an unexpected error is logged and
// answered as 500 without its text.
func (s *Service) writeError(c *call, err error) {
	var ge *graphError
	if !errors.As(err, &ge) {
		switch {
		case errors.Is(err, store.ErrInvalidText):
			ge = badRequest("A property holds a NUL character or text that is not valid UTF-8.")
		case errors.Is(err, context.Canceled):
			ge = errorf(499, "Request_Canceled", "The request was canceled.")
		default:
			s.cfg.Logger.Error("graph request failed", "method", c.r.Method, "path", c.r.URL.Path, "err", err)
			ge = errorf(http.StatusInternalServerError, "Service_InternalServerError", "Encountered an internal server error.")
		}
	}
	body := map[string]any{"error": map[string]any{
		"code": ge.code, "message": ge.message,
		"innerError": map[string]string{
			"date":              s.cfg.Now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        c.requestID,
			"client-request-id": c.clientRequestID,
		},
	}}
	writeJSON(c.w, ge.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// maxBody bounds request bodies; directory objects are small.
const maxBody = 1 << 20

// decodeBody reads a JSON object body into a map of raw members, so
// handlers can refuse the properties they do not take and keep the ones
// they store verbatim.
func decodeBody(c *call) (map[string]json.RawMessage, error) {
	var body io.Reader = c.r.Body
	switch enc := strings.ToLower(strings.TrimSpace(c.r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		// The Graph SDKs compress request bodies (Kiota's compression
		// handler), as Graph accepts.
		zr, err := gzip.NewReader(c.r.Body)
		if err != nil {
			return nil, badRequest("The request body is not valid gzip.")
		}
		defer zr.Close()
		body = zr
	default:
		return nil, errorf(http.StatusUnsupportedMediaType, "Request_BadRequest", "Content-Encoding '%s' is not supported; send gzip or none.", clip(enc))
	}
	b, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, badRequest("The request body could not be read.")
	}
	if len(b) > maxBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "Request_BadRequest", "The request body is larger than %d bytes.", maxBody)
	}
	var m map[string]json.RawMessage
	if len(strings.TrimSpace(string(b))) == 0 {
		return map[string]json.RawMessage{}, nil
	}
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, badRequest("Write requests (excluding DELETE) must contain the Content-Type header declaration and a JSON object body.")
	}
	return m, nil
}

// member decodes one body member into v, naming it on failure.
func member(body map[string]json.RawMessage, name string, v any) (bool, error) {
	raw, ok := body[name]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, badRequest("Invalid value for property '%s'.", name)
	}
	return true, nil
}

// can refuses a write the caller's directory roles do not allow.
func (s *Service) can(ctx context.Context, tx store.Tx, c *call, capability directory.Capability) error {
	ok, err := directory.Can(ctx, tx, c.caller.ObjectID, capability)
	if err != nil {
		return err
	}
	if !ok {
		return errDenied
	}
	return nil
}

// update runs fn in one transaction after checking the caller's role in
// it, and waits for this replica's indexes to apply it.
func (s *Service) update(c *call, capability directory.Capability, fn func(ctx context.Context, tx store.Tx) error) error {
	ctx := c.r.Context()
	rev, err := s.cfg.Store.Update(ctx, func(tx store.Tx) error {
		if err := s.can(ctx, tx, c, capability); err != nil {
			return err
		}
		return fn(ctx, tx)
	})
	if err != nil {
		return err
	}
	return s.cfg.WaitFor(ctx, rev)
}

func (s *Service) view(c *call, fn func(ctx context.Context, tx store.Tx) error) error {
	ctx := c.r.Context()
	return s.cfg.Store.View(ctx, func(tx store.Tx) error { return fn(ctx, tx) })
}

// methodNotAllowed answers a method a path does not take.
func methodNotAllowed(c *call) error {
	return errorf(http.StatusMethodNotAllowed, "Request_BadRequest", "The HTTP method '%s' is not allowed on '%s'.", clip(c.r.Method), clip(c.r.URL.Path))
}

// clip bounds what a refusal echoes of the request.
func clip(s string) string {
	const max = 256
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

func (s *Service) graphURL(rest string) string { return s.cfg.BaseURL + "/v1.0/" + rest }
