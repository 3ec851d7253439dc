package sts

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// maxFormBytes bounds a token request body; the largest real one holds a
// client assertion with a certificate chain, a few kilobytes.
const maxFormBytes = 64 << 10

// readForm reads the parameters of a token request: an
// application/x-www-form-urlencoded body (RFC 6749 §4.4.2) in which no
// parameter appears twice, nor in both the body and the query string
// (§3.1: "Request and response parameters MUST NOT be included more than
// once"). Taking the first of two values, as url.Values.Get does, would let
// whatever parses the request next disagree with this server about who
// asked for what.
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *oauthError) {
	types := r.Header.Values("Content-Type")
	shown := strings.Join(types, ", ")
	if shown == "" {
		shown = "(none)"
	}
	if len(types) != 1 {
		return nil, errInvalidRequest(90004, "The request body must be application/x-www-form-urlencoded; the Content-Type was '%s'.", clip(shown))
	}
	if mt, _, err := mime.ParseMediaType(types[0]); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errInvalidRequest(90004, "The request body must be application/x-www-form-urlencoded; the Content-Type was '%s'.", clip(shown))
	}
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, body, maxFormBytes))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			return nil, errInvalidRequest(90004, "The request body is larger than 64 KiB.")
		}
		return nil, errInvalidRequest(90004, "The request body could not be read.")
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, errInvalidRequest(90004, "The request body is not correctly application/x-www-form-urlencoded: %s.", clip(err.Error()))
	}
	if name, ok := repeated(form); ok {
		return nil, errInvalidRequest(9002313, "The parameter '%s' is included more than once in the request body; each parameter may be given once.", clip(name))
	}
	// A malformed query still yields the pairs that parse; those are what
	// another reader of the request would see.
	query, _ := url.ParseQuery(r.URL.RawQuery)
	for _, name := range sortedNames(query) {
		if _, ok := form[name]; ok {
			return nil, errInvalidRequest(9002313, "The parameter '%s' is included in both the query string and the request body; each parameter may be given once.", clip(name))
		}
	}
	return form, nil
}

func repeated(form url.Values) (string, bool) {
	for _, name := range sortedNames(form) {
		if len(form[name]) > 1 {
			return name, true
		}
	}
	return "", false
}

func sortedNames(v url.Values) []string {
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// clientCredentials returns the client ID and secret the request presents,
// from HTTP Basic (client_secret_basic) or the form (client_secret_post).
// A request that authenticates in more than one
// way is refused (RFC 6749 §2.3: "The client MUST NOT use more than one
// authentication method in each request"), and so is a form client_id that
// names another client than Basic does: which of the two would be
// authenticated, and which audited, must never be a guess.
func clientCredentials(r *http.Request, form url.Values) (clientID, secret string, oe *oauthError) {
	auth := r.Header.Values("Authorization")
	if len(auth) > 1 {
		return "", "", errInvalidRequest(9002313, "The request has more than one Authorization header.")
	}
	if len(auth) == 0 || !isBasic(auth[0]) {
		// Another scheme (a bearer token) authenticates no client here.
		return form.Get("client_id"), form.Get("client_secret"), nil
	}
	clientID, secret, ok := r.BasicAuth()
	if !ok {
		return "", "", errInvalidRequest(9002313, "The Authorization header is not valid HTTP Basic authentication: it must be 'Basic ' and base64 of client_id:client_secret.")
	}
	if ids, ok := form["client_id"]; ok && !strings.EqualFold(ids[0], clientID) {
		return "", "", errInvalidRequest(9002313, "The client_id in the request body differs from the client named by HTTP Basic authentication.")
	}
	for _, p := range []string{"client_secret", "client_assertion"} {
		if _, ok := form[p]; ok {
			return "", "", errInvalidRequest(9002313, "The request uses HTTP Basic authentication and also has '%s' in the body; a client must use exactly one authentication method.", p)
		}
	}
	return clientID, secret, nil
}

func isBasic(authorization string) bool {
	scheme, _, _ := strings.Cut(authorization, " ")
	return strings.EqualFold(scheme, "Basic")
}
