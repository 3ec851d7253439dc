package server

import (
	"net/http"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/store"
)

func builtinRoles() []store.RoleDefinition { return authz.BuiltinRoles() }

// registerControlPlane mounts the ARM front door; every path the token
// service and health endpoints do not claim is an ARM path.
func (s *Server) registerControlPlane(mux *http.ServeMux) {
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":{"code":"NotFound","message":"No route for this path."}}` + "\n"))
	})
}
