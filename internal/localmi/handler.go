package localmi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/ratelimit"
	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// Flavour is the managed-identity protocol a listener speaks.
type Flavour int

const (
	// IMDS is the Azure VM Instance Metadata Service protocol (§2.3).
	IMDS Flavour = iota
	// Arc is the Azure Arc challenge/response protocol (§2.5).
	Arc
	// AppService is the App Service protocol (§2.4).
	AppService
)

// Paths the clients call.
const (
	TokenPath      = "/metadata/identity/oauth2/token"
	AppServicePath = "/msi/token"
)

// AppServiceAPIVersion is what Go, JS, Python and MSAL send (§2.4):
// IDENTITY_ENDPOINT with the X-IDENTITY-HEADER header.
const AppServiceAPIVersion = "2019-08-01"

// AppServiceLegacyAPIVersion is App Service's first protocol, which
// clients that only know MSI_ENDPOINT and MSI_SECRET speak (msrestazure,
// and through it `az login --identity` up to az 2.6x): a `secret` header,
// a `clientid` selector and expires_on as a date.
const AppServiceLegacyAPIVersion = "2017-09-01"

// Handler serves one flavour on one listener.
type Handler struct {
	Flavour Flavour
	Cache   *Cache
	// Limiter throttles the whole listener (per host or per launch); nil
	// means unlimited.
	Limiter *ratelimit.Bucket
	// Secret is the App Service X-IDENTITY-HEADER value.
	Secret string
	// Keys issues and checks Arc challenges.
	Keys   *ArcKeys
	Logger *slog.Logger
	Now    func() time.Time
}

var apiVersionRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview)?$`)

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// ServeHTTP applies the protocol's proof rules, then answers from the cache.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.ToLower(strings.TrimRight(r.URL.Path, "/"))
	want := TokenPath
	if h.Flavour == AppService {
		want = AppServicePath
	}
	if path != want {
		writeError(w, http.StatusNotFound, "not_found", "No managed-identity endpoint at this path; use "+want+".")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "Use GET.")
		return
	}
	// SSRF defence of the real endpoints: a request relayed by a proxy
	// carries X-Forwarded-For; no managed-identity client sends it.
	if _, relayed := r.Header["X-Forwarded-For"]; relayed {
		writeError(w, http.StatusBadRequest, "invalid_request", "Requests with an X-Forwarded-For header are refused.")
		return
	}
	if h.Flavour != AppService && r.Header.Get("Metadata") != "true" {
		writeError(w, http.StatusBadRequest, "bad_request_102", "Required metadata header not specified")
		return
	}
	q := r.URL.Query()
	legacy := h.Flavour == AppService && q.Get("api-version") == AppServiceLegacyAPIVersion
	if h.Flavour == AppService {
		// Each protocol version has its own header, as on App Service; the
		// value is the same per-launch secret (MSI_SECRET = IDENTITY_HEADER).
		header := "X-Identity-Header"
		if legacy {
			header = "Secret"
		}
		got := r.Header.Get(header)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.Secret)) != 1 {
			writeError(w, http.StatusUnauthorized, "invalid_request", "The "+strings.ToUpper(header)+" header is missing or wrong.")
			return
		}
	}
	if ok, wait := h.Limiter.Allow(h.now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests to the managed-identity endpoint.")
		return
	}
	if err := h.checkAPIVersion(q.Get("api-version")); err != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", err)
		return
	}
	resource := q.Get("resource")
	if err := workload.ValidateAudience(resource); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if legacy {
		legacySelectors(q)
	}
	sel, err := workload.ParseSelector(q)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if h.Flavour == Arc && !h.arcProof(w, r) {
		return
	}
	tok, err := h.Cache.Get(r.Context(), resource, sel)
	if err != nil {
		h.writeFetchError(w, err)
		return
	}
	var body any
	switch {
	case legacy:
		body = appServiceLegacyResponse(tok, resource)
	case h.Flavour == AppService:
		body = appServiceResponse(tok, resource, h.now())
	default:
		body = h.imdsResponse(tok, resource, sel, q)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

func (h *Handler) checkAPIVersion(v string) string {
	switch {
	case v == "":
		return "Required query variable 'api-version' is missing."
	case h.Flavour == AppService && v != AppServiceAPIVersion && v != AppServiceLegacyAPIVersion:
		return "Unsupported api-version '" + v + "'; this endpoint speaks " + AppServiceAPIVersion + " (IDENTITY_ENDPOINT) and " + AppServiceLegacyAPIVersion + " (MSI_ENDPOINT)."
	case h.Flavour == AppService:
		return ""
	case !apiVersionRE.MatchString(v) || v < "2018-02-01":
		return "Unsupported api-version '" + v + "'; use 2018-02-01 or later."
	}
	return ""
}

// arcProof runs the Arc challenge: without Authorization, write a fresh
// key file and answer 401 naming it; with it, accept only the contents of
// an outstanding key file, once.
func (h *Handler) arcProof(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		path, err := h.Keys.Challenge()
		if err != nil {
			if errors.Is(err, ErrTooManyChallenges) {
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many outstanding challenges.")
				return false
			}
			h.log().Error("arc: writing a challenge key file failed", "err", err)
			writeError(w, http.StatusInternalServerError, "unknown", "The agent could not create a challenge.")
			return false
		}
		// No quotes: clients split on "Basic realm=" and take the rest
		// verbatim as the path (reference §2.5).
		w.Header().Set("WWW-Authenticate", "Basic realm="+path)
		writeError(w, http.StatusUnauthorized, "unauthorized", "Answer the challenge with the contents of the key file.")
		return false
	}
	secret, ok := strings.CutPrefix(auth, "Basic ")
	if !ok || !h.Keys.Verify(secret) {
		writeError(w, http.StatusUnauthorized, "unauthorized", "The challenge answer is wrong, already used or expired.")
		return false
	}
	return true
}

// The token responses, one per protocol, with the JSON types each protocol
// uses: the clients parse them with code written for those exact shapes
// (reference §2.3–2.5, §3.3).
//
// refresh_in is keyless's addition to all of them. It is a JSON number,
// as on Entra's token endpoint, because MSAL's token cache adds it to an
// integer: azure-identity for Python caches every managed-identity
// response through MSAL, and a string there is a TypeError. MSAL Go
// accepts either.

// imdsBody is the IMDS response, which Arc shares: every number a string.
type imdsBody struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	ExtExpiresIn string `json:"ext_expires_in"`
	NotBefore    string `json:"not_before"`
	RefreshIn    int64  `json:"refresh_in,omitempty"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
	// Arc echoes the user-assigned selector it honoured, or Go refuses
	// the token (§2.5).
	ObjectID string `json:"object_id,omitempty"`
	MSIResID string `json:"msi_res_id,omitempty"`
}

// appServiceBody is the App Service 2019-08-01 response: expires_on and
// not_before are Unix seconds as strings. expires_in (a string, as in
// the IMDS response) is keyless's addition for clients that prefer it.
type appServiceBody struct {
	AccessToken string `json:"access_token"`
	ClientID    string `json:"client_id"`
	ExpiresIn   string `json:"expires_in"`
	ExpiresOn   string `json:"expires_on"`
	NotBefore   string `json:"not_before"`
	RefreshIn   int64  `json:"refresh_in,omitempty"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
}

// appServiceLegacyBody is the App Service 2017-09-01 response: expires_on
// is a date, "11/05/2021 15:18:31 +00:00", which az's and msrestazure's
// parsers (`%m/%d/%Y %H:%M:%S %z`) and azidentity read.
type appServiceLegacyBody struct {
	AccessToken string `json:"access_token"`
	ExpiresOn   string `json:"expires_on"`
	Resource    string `json:"resource"`
	TokenType   string `json:"token_type"`
	ClientID    string `json:"client_id"`
}

// legacyExpiresOnLayout is 2017-09-01's expires_on, always in UTC.
const legacyExpiresOnLayout = "01/02/2006 15:04:05 -07:00"

func refreshIn(tok Token, now time.Time) int64 {
	if in := int64(tok.RefreshAt.Sub(now).Seconds()); in > 0 {
		return in
	}
	return 0
}

func unixText(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func lifetime(tok Token, now time.Time) string {
	return strconv.FormatInt(int64(tok.ExpiresOn.Sub(now).Seconds()), 10)
}

func (h *Handler) imdsResponse(tok Token, resource string, sel workload.Selector, q url.Values) imdsBody {
	now := h.now()
	life := lifetime(tok, now)
	b := imdsBody{
		AccessToken: tok.AccessToken, ClientID: tok.ClientID, ExpiresIn: life, ExtExpiresIn: life,
		ExpiresOn: unixText(tok.ExpiresOn), NotBefore: unixText(tok.NotBefore), RefreshIn: refreshIn(tok, now),
		Resource: resource, TokenType: "Bearer",
	}
	if h.Flavour == Arc {
		// Echo the value exactly as requested: Go compares it with what
		// it sent (case-insensitively).
		switch sel.Kind {
		case workload.SelectClientID:
			b.ClientID = sel.Value
		case workload.SelectObjectID:
			b.ObjectID = sel.Value
		case workload.SelectResourceID:
			b.MSIResID = q.Get("msi_res_id")
			if b.MSIResID == "" {
				b.MSIResID = sel.Value
			}
		}
	}
	return b
}

func appServiceResponse(tok Token, resource string, now time.Time) appServiceBody {
	return appServiceBody{
		AccessToken: tok.AccessToken, ClientID: tok.ClientID, ExpiresIn: lifetime(tok, now),
		ExpiresOn: unixText(tok.ExpiresOn), NotBefore: unixText(tok.NotBefore), RefreshIn: refreshIn(tok, now),
		Resource: resource, TokenType: "Bearer",
	}
}

func appServiceLegacyResponse(tok Token, resource string) appServiceLegacyBody {
	return appServiceLegacyBody{
		AccessToken: tok.AccessToken, ExpiresOn: tok.ExpiresOn.UTC().Format(legacyExpiresOnLayout),
		Resource: resource, TokenType: "Bearer", ClientID: tok.ClientID,
	}
}

// legacySelectors renames 2017-09-01's selectors (clientid, principalid)
// to the names the selector parser knows; the newer names are accepted
// as they are.
func legacySelectors(q url.Values) {
	for old, name := range map[string]string{"clientid": "client_id", "principalid": "principal_id"} {
		if v, ok := q[old]; ok {
			q[name] = append(q[name], v...)
			delete(q, old)
		}
	}
}

// writeFetchError passes the server's refusal through unchanged (it is
// already in the OAuth shape the clients parse); transient failures become
// 503, which every client retries.
func (h *Handler) writeFetchError(w http.ResponseWriter, err error) {
	var ae *workloadapi.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		if ae.RetryAfter != "" {
			w.Header().Set("Retry-After", ae.RetryAfter)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(ae.Status)
		_, _ = w.Write(ae.Body)
		return
	}
	h.log().Warn("fetching a token from the keyless server failed", "err", err)
	writeError(w, http.StatusServiceUnavailable, "service_unavailable", "The keyless server could not be reached; retry.")
}

func (h *Handler) log() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
