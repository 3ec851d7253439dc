package arm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/wiretext"
)

// DefaultMaxBodyBytes caps request bodies when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 4 << 20

// DefaultPageSize is the list page size when Config.PageSize is 0.
const DefaultPageSize = 100

// Config configures the front door.
type Config struct {
	Store         store.Store
	Authenticator Authenticator
	Authorizer    Authorizer
	// TenantID is the installation's tenant (identity tenantId, the 401
	// challenge's authorization_uri).
	TenantID string
	// BaseURL is the externally visible https origin, e.g.
	// "https://127.0.0.1:8443", used for nextLink and Location URLs. Empty
	// means "https://" + the request's Host.
	BaseURL string
	Logger  *slog.Logger
	// MaxBodyBytes caps request bodies (413 beyond); 0 means 4 MiB.
	MaxBodyBytes int64
	// PageSize is the default list page size; 0 means 100.
	PageSize int
	// FederatedCredentialLimit caps federated identity credentials per
	// user-assigned identity; 0 means unlimited (the wiring passes
	// resources.DefaultFederatedCredentialLimit, Azure's 20).
	FederatedCredentialLimit int
	// Principal, when set, serves principal lookups for resource views
	// from an in-memory index (see resources.Config.Principal).
	Principal func(objectID string) (store.Principal, bool)
	// ResourceHooks are data planes' hooks by resource type
	// (resources.TypeHook).
	ResourceHooks map[string]resources.TypeHook
	// OnRequest, when set, is called after every request (for the audit
	// log: every change and every denial is recorded).
	OnRequest func(ctx context.Context, rec RequestRecord)
}

// RequestRecord summarises one request for OnRequest.
type RequestRecord struct {
	RequestID     string
	CorrelationID string
	Method        string
	Path          string
	Route         string
	Action        string
	Scope         string
	Caller        Caller
	Status        int
	// ErrorCode is the ARM error code of a failed request.
	ErrorCode string
	Duration  time.Duration
	// ClientRequestID is the caller's x-ms-client-request-id, when it is a
	// plausible ID; ClientAddress the TCP peer's IP address (never
	// X-Forwarded-For, which the client writes).
	ClientRequestID string
	ClientAddress   string
}

// Server is the ARM REST front door. It is an http.Handler.
type Server struct {
	resources *resources.Service
	authn     Authenticator
	authz     Authorizer
	tenantID  string
	base      string
	log       *slog.Logger
	maxBody   int64
	pageSize  int
	onRequest func(context.Context, RequestRecord)

	mu        sync.RWMutex
	routes    []*Route
	providers map[string]Provider
}

// New builds the front door with every built-in route registered.
func New(cfg Config) *Server {
	s := &Server{
		resources: resources.New(resources.Config{
			Store:                    cfg.Store,
			TenantID:                 cfg.TenantID,
			FederatedCredentialLimit: cfg.FederatedCredentialLimit,
			Principal:                cfg.Principal,
			Hooks:                    cfg.ResourceHooks,
		}),
		authn:     cfg.Authenticator,
		authz:     cfg.Authorizer,
		tenantID:  cfg.TenantID,
		base:      strings.TrimSuffix(cfg.BaseURL, "/"),
		log:       cfg.Logger,
		maxBody:   cfg.MaxBodyBytes,
		pageSize:  cfg.PageSize,
		onRequest: cfg.OnRequest,
		providers: map[string]Provider{},
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.pageSize <= 0 {
		s.pageSize = DefaultPageSize
	}
	for _, r := range s.builtinRoutes() {
		s.Handle(r)
	}
	for _, p := range builtinProviders() {
		s.RegisterProvider(p)
	}
	return s
}

// Resources is the domain service behind the built-in routes, for wiring
// that needs the same rules outside HTTP (deployments).
func (s *Server) Resources() *resources.Service { return s.resources }

// Handle registers a route. Routes registered by other packages (RBAC,
// directory) go through the same authentication, api-version check,
// authorization, body cap and error mapping as the built-in ones. It panics
// on a malformed route or a duplicate method and pattern: both are
// programming errors found at start-up.
func (s *Server) Handle(r Route) {
	segs, err := compilePattern(r.Pattern)
	if err != nil {
		panic(err)
	}
	if r.Name == "" || len(r.Methods) == 0 || r.Handler == nil {
		panic(fmt.Sprintf("arm: route %q needs a name, methods and a handler", r.Pattern))
	}
	if r.Access == AccessCheck && (r.Action == "" || r.Scope == "") {
		panic(fmt.Sprintf("arm: route %s checks access but has no action or scope", r.Name))
	}
	if r.Sample == "" {
		r.Sample = sampleFor(r.Pattern)
	}
	r.segments = segs
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.routes {
		if samePattern(o.segments, r.segments) {
			for _, m := range r.Methods {
				for _, om := range o.Methods {
					if m == om {
						panic(fmt.Sprintf("arm: %s %s registered twice (%s, %s)", m, r.Pattern, o.Name, r.Name))
					}
				}
			}
		}
	}
	route := r
	s.routes = append(s.routes, &route)
}

// Routes describes every registered route, with a sample request each.
func (s *Server) Routes() []RouteInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]RouteInfo, 0, len(s.routes))
	for _, r := range s.routes {
		info := RouteInfo{
			Name: r.Name, Methods: append([]string(nil), r.Methods...), Pattern: r.Pattern,
			Action: r.Action, Scope: r.Scope, Access: r.Access, Fallback: r.Fallback,
			SamplePath: r.Sample, SampleAPIVersion: r.APIVersions.sample(),
		}
		if p, ok := matchSegments(r.segments, splitPath(r.Sample)); ok && (r.Bind == nil || r.Bind(p)) {
			info.SampleAction = expand(r.Action, p)
			info.SampleScope = cleanScope(expand(r.Scope, p))
		}
		out = append(out, info)
	}
	return out
}

// Call is the per-request context handed to a route handler.
type Call struct {
	Caller     Caller
	Params     Params
	APIVersion string
	// Action and Scope are the route's expanded authorization; list
	// handlers use their own per item.
	Action string
	Scope  string
	// RequestID and CorrelationID are echoed in x-ms-request-id and
	// x-ms-correlation-request-id.
	RequestID     string
	CorrelationID string

	server    *Server
	route     *Route
	segments  []string
	errorCode string
}

func (c *Call) routeName() string {
	if c.route == nil {
		return ""
	}
	return c.route.Name
}

// Allowed asks the Authorizer about the caller.
func (c *Call) Allowed(action, scope string) bool {
	return c.server.authz.Allowed(c.Caller.ObjectID, action, scope)
}

// Path is the request path cleaned of empty segments, in the caller's
// casing ("/" + an ID routes like the ID).
func (c *Call) Path() string { return "/" + strings.Join(c.segments, "/") }

// DecodeJSON reads the request body into v. The body must be one JSON
// object; failures are 400 InvalidRequestContent naming the position or the
// member, or 413 beyond the body cap.
func (c *Call) DecodeJSON(r *http.Request, v any) error {
	body, err := c.readBody(r)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return jsonError(body, err, "")
	}
	return nil
}

// readBody reads the whole body and checks that it is JSON (415
// otherwise, as ARM), one object, and holds only text both stores can keep.
func (c *Call) readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, c.server.tooLarge()
	}
	if err != nil {
		return nil, err
	}
	trimmed := strings.TrimSpace(string(body))
	if trimmed == "" {
		return nil, invalidContent("", "the request body is empty; a JSON object is required.")
	}
	if err := checkMediaType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	if !json.Valid(body) {
		quoted, ok := quoteBareKeys(body) // lenient.go
		if !ok {
			var probe any
			return nil, jsonError(body, json.Unmarshal(body, &probe), "")
		}
		body, trimmed = quoted, strings.TrimSpace(string(quoted))
	}
	if trimmed[0] != '{' {
		return nil, invalidContent("", "the request body must be a JSON object.")
	}
	if member, ok := wiretext.CheckJSON(body); !ok {
		return nil, invalidContent(member, "the member '%s' holds a NUL character (\\u0000), which is not allowed.", member)
	}
	return body, nil
}

// decodeMember decodes one top-level member of a request document, naming
// it in the error.
func decodeMember(raw json.RawMessage, name string, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return jsonError(raw, err, name)
	}
	return nil
}

func (s *Server) baseURL(r *http.Request) string {
	if s.base != "" {
		return s.base
	}
	return "https://" + r.Host
}

// responseWriter remembers the status for logging and for writeError.
type responseWriter struct {
	http.ResponseWriter
	status int
}

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// correlationID accepts the caller's x-ms-correlation-request-id when it is
// a plausible ID (it is echoed into a header and into logs).
var correlationID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// ServeHTTP authenticates, routes, checks api-version, authorizes, caps the
// body, and runs the route's handler; any failure becomes one ARM error
// response and nothing is written to the store.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c := &Call{server: s, RequestID: uuid.NewString()}
	c.CorrelationID = r.Header.Get("x-ms-correlation-request-id")
	if !correlationID.MatchString(c.CorrelationID) {
		c.CorrelationID = uuid.NewString()
	}
	rw := &responseWriter{ResponseWriter: w}
	rw.Header().Set("x-ms-request-id", c.RequestID)
	rw.Header().Set("x-ms-correlation-request-id", c.CorrelationID)

	if err := s.serve(rw, r, c); err != nil {
		s.writeError(rw, r, c, err)
	}
	if rw.status == 0 {
		rw.WriteHeader(http.StatusOK)
	}

	rec := RequestRecord{
		RequestID: c.RequestID, CorrelationID: c.CorrelationID, Method: r.Method, Path: r.URL.Path,
		Route: c.routeName(), Action: c.Action, Scope: c.Scope, Caller: c.Caller,
		Status: rw.status, ErrorCode: c.errorCode, Duration: time.Since(start),
		ClientAddress: clientAddress(r.RemoteAddr),
	}
	if id := r.Header.Get("x-ms-client-request-id"); correlationID.MatchString(id) {
		rec.ClientRequestID = id
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "arm request",
		slog.String("requestId", rec.RequestID), slog.String("method", rec.Method), slog.String("path", rec.Path),
		slog.String("route", rec.Route), slog.Int("status", rec.Status), slog.String("errorCode", rec.ErrorCode),
		slog.String("caller", rec.Caller.ObjectID), slog.Duration("duration", rec.Duration))
	if s.onRequest != nil {
		s.onRequest(r.Context(), rec)
	}
}

// clientAddress is the IP address of a request's TCP peer; in-process
// requests have none.
func clientAddress(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return ""
	}
	return host
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, c *Call) error {
	if s.authn == nil || s.authz == nil {
		return errors.New("arm: server has no authenticator or authorizer")
	}
	caller, inProcess := CallerFrom(r.Context())
	if !inProcess {
		var err error
		if caller, err = s.authn.Authenticate(r); err != nil {
			return err
		}
	}
	c.Caller = caller

	if err := checkQuery(r.URL); err != nil {
		return err
	}
	segs, err := requestSegments(r.URL)
	if err != nil {
		return err
	}
	c.segments = segs
	route, params, err := s.match(r.Method, segs)
	if err != nil {
		return err
	}
	c.route, c.Params = route, params
	if err := checkParams(params); err != nil {
		return err
	}

	c.APIVersion = r.URL.Query().Get("api-version")
	if err := route.APIVersions.check(c.APIVersion); err != nil {
		return err
	}

	c.Action = expand(route.Action, params)
	c.Scope = cleanScope(expand(route.Scope, params))
	if route.Access == AccessCheck && !c.Allowed(c.Action, c.Scope) {
		return AuthorizationFailed(caller, c.Action, c.Scope)
	}

	if r.ContentLength > s.maxBody {
		return s.tooLarge()
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.maxBody)
	return route.Handler(w, r, c)
}

// match picks the route for a request: among routes whose pattern (and Bind)
// match the path and that accept the method, ordinary routes before
// fallbacks, then the most literal segments, then the first registered.
func (s *Server) match(method string, segs []string) (*Route, Params, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var (
		best       *Route
		bestParams Params
		allowed    []string
	)
	better := func(r *Route) bool {
		switch {
		case best == nil:
			return true
		case best.Fallback != r.Fallback:
			return best.Fallback
		default:
			return literalCount(r.segments) > literalCount(best.segments)
		}
	}
	for _, r := range s.routes {
		p, ok := matchSegments(r.segments, segs)
		if !ok || r.Bind != nil && !r.Bind(p) {
			continue
		}
		accepts := false
		for _, m := range r.Methods {
			accepts = accepts || m == method
			allowed = append(allowed, m)
		}
		if accepts && better(r) {
			best, bestParams = r, p
		}
	}
	if best != nil {
		return best, bestParams, nil
	}
	if len(allowed) > 0 {
		return nil, nil, Errorf(http.StatusMethodNotAllowed, "MethodNotAllowed", "",
			"The HTTP method '%s' is not supported for '/%s'. Supported methods: %s.", method, strings.Join(segs, "/"), strings.Join(dedupe(allowed), ", "))
	}
	return nil, nil, Errorf(http.StatusNotFound, "NotFound", "",
		"No operation is registered for '%s /%s'.", method, strings.Join(segs, "/"))
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
