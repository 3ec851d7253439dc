package localmi

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
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

// AppServiceAPIVersion is what Go and JS send (§2.4).
const AppServiceAPIVersion = "2019-08-01"

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
	if h.Flavour == AppService {
		got := r.Header.Get("X-Identity-Header")
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.Secret)) != 1 {
			writeError(w, http.StatusUnauthorized, "invalid_request", "The X-IDENTITY-HEADER header is missing or wrong.")
			return
		}
	}
	if ok, wait := h.Limiter.Allow(h.now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(ratelimit.RetryAfterSeconds(wait)))
		writeError(w, http.StatusTooManyRequests, "too_many_requests", "Too many requests to the managed-identity endpoint.")
		return
	}
	q := r.URL.Query()
	if err := h.checkAPIVersion(q.Get("api-version")); err != "" {
		writeError(w, http.StatusBadRequest, "invalid_request", err)
		return
	}
	resource := q.Get("resource")
	if err := workload.ValidateAudience(resource); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
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
	body := h.response(tok, resource, sel, r)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

func (h *Handler) checkAPIVersion(v string) string {
	switch {
	case v == "":
		return "Required query variable 'api-version' is missing."
	case h.Flavour == AppService && v != AppServiceAPIVersion:
		return "Unsupported api-version '" + v + "'; this endpoint speaks " + AppServiceAPIVersion + "."
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

// tokenBody is the IMDS-style response (numbers as strings, §2.3.2, §3.3),
// used by all three flavours; the App Service clients parse it the same.
type tokenBody struct {
	AccessToken  string `json:"access_token"`
	ClientID     string `json:"client_id"`
	ExpiresIn    string `json:"expires_in"`
	ExpiresOn    string `json:"expires_on"`
	ExtExpiresIn string `json:"ext_expires_in"`
	NotBefore    string `json:"not_before"`
	RefreshIn    string `json:"refresh_in,omitempty"`
	Resource     string `json:"resource"`
	TokenType    string `json:"token_type"`
	// Arc echoes the user-assigned selector it honoured, or Go refuses
	// the token (§2.5).
	ObjectID string `json:"object_id,omitempty"`
	MSIResID string `json:"msi_res_id,omitempty"`
}

func (h *Handler) response(tok Token, resource string, sel workload.Selector, r *http.Request) tokenBody {
	now := h.now()
	life := strconv.FormatInt(int64(tok.ExpiresOn.Sub(now).Seconds()), 10)
	b := tokenBody{
		AccessToken: tok.AccessToken, ClientID: tok.ClientID, ExpiresIn: life, ExtExpiresIn: life,
		ExpiresOn: strconv.FormatInt(tok.ExpiresOn.Unix(), 10), NotBefore: strconv.FormatInt(tok.NotBefore.Unix(), 10),
		Resource: resource, TokenType: "Bearer",
	}
	if in := int64(tok.RefreshAt.Sub(now).Seconds()); in > 0 {
		b.RefreshIn = strconv.FormatInt(in, 10)
	}
	if h.Flavour == Arc {
		// Echo the value exactly as requested: Go compares it with what
		// it sent (case-insensitively).
		q := r.URL.Query()
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
