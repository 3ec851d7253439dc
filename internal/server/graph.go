package server

import (
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/graphapi"
	"github.com/keyless-io/keyless/internal/token"
)

// withGraph serves Microsoft Graph v1.0 under /v1.0/, a second front door
// over the directory the token service reads, and hands every other path
// to next. It sits in front of the mux rather than in it: the token
// service's /{tenant}/oauth2/ patterns and /v1.0/ overlap (/v1.0/oauth2/),
// which ServeMux refuses to register. Graph writes wait for this replica's
// indexes like ARM's (read-your-writes), so a secret added through Graph
// signs its application in at once.
func (s *Server) withGraph(next http.Handler) http.Handler {
	graph := s.metrics.Instrument("graph", s.readYourWrites(graphapi.New(graphapi.Config{
		Store: s.inst.Store, Keyring: s.inst.Keyring, Directory: s.dir,
		TenantID: s.inst.TenantID, BaseURL: s.baseURL,
		Verify:  (&token.VerifyCache{Issuer: s.issuer}).Verify,
		WaitFor: s.follower.WaitFor, Logger: s.cfg.Logger, Audit: s.cfg.Audit,
	})))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, graphapi.Prefix) {
			graph.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
