package server

import (
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/sts"
)

// requestEdge is the first handler of every request. The standard library
// mux answers a path holding ".", ".." or "//" with a bare redirect to its
// cleaned form before any front door sees it: an unauthenticated 307 that
// moves a scope upwards is not an answer a control plane gives. So dot
// segments are refused here (a scope can never be walked upwards), doubled
// slashes are served in place as ARM does (the Azure CLI sends
// "Microsoft.Web//sites/name"), and any redirect that still comes out of
// the mux is replaced by a 404: keyless never answers with one.
func requestEdge(baseURL string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, seg := range strings.Split(r.URL.Path, "/") {
			if seg == "." || seg == ".." {
				if isTokenServicePath(r.URL.Path) {
					// OAuth clients read OAuth errors, not ARM's.
					sts.WriteInvalidRequest(w, r, baseURL, 90023, "The request URI path segment '"+seg+"' is not allowed.")
					return
				}
				writeEdgeError(w, http.StatusBadRequest, "InvalidRequestUri",
					"The request URI path segment '"+seg+"' is not allowed.")
				return
			}
		}
		if strings.Contains(r.URL.Path, "//") {
			r.URL.Path = collapseSlashes(r.URL.Path)
			if r.URL.RawPath != "" {
				r.URL.RawPath = collapseSlashes(r.URL.RawPath)
			}
		}
		if isPortalPath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&noRedirect{ResponseWriter: w}, r)
	})
}

func collapseSlashes(p string) string {
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] == '/' && i > 0 && p[i-1] == '/' {
			continue
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// noRedirect turns a 3xx the mux would send (a subtree pattern's trailing-
// slash redirect) into an ARM-shaped 404 and drops the mux's HTML body.
type noRedirect struct {
	http.ResponseWriter
	swallow bool
}

func (w *noRedirect) WriteHeader(status int) {
	if status >= 300 && status < 400 {
		w.Header().Del("Location")
		w.swallow = true
		writeEdgeError(w.ResponseWriter, http.StatusNotFound, "NotFound", "No operation is registered for this path.")
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *noRedirect) Write(b []byte) (int, error) {
	if w.swallow {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming answers (the agents' event stream) through.
func (w *noRedirect) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *noRedirect) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func writeEdgeError(w http.ResponseWriter, status int, code, message string) {
	type detail struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	w.Header().Del("Content-Length")
	arm.WriteJSON(w, status, struct {
		Error detail `json:"error"`
	}{detail{code, message}})
}

// isTokenServicePath reports the paths the token service owns (its
// prefixes in the mux).
func isTokenServicePath(p string) bool {
	for _, part := range []string{"/oauth2/", "/.well-known/", "/discovery/", "/v2.0/"} {
		if strings.Contains(p, part) {
			return true
		}
	}
	return false
}
