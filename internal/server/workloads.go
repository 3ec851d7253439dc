package server

import (
	"net/http"

	"github.com/keyless-io/keyless/internal/workload"
	"github.com/keyless-io/keyless/internal/workloadapi"
)

// registerWorkloads mounts the endpoints through which workloads obtain
// managed-identity tokens: launch grants for `keyless run`, agent join
// tokens, enrollment, renewal and tokens over mutual TLS, and the event
// streams that tell launchers and agents to drop cached tokens.
func (s *Server) registerWorkloads(mux *http.ServeMux) {
	inst := s.inst
	api := workloadapi.New(workloadapi.Config{
		TenantID: inst.TenantID,
		Store:    inst.Store,
		Minter:   &workload.Minter{Store: inst.Store, Issuer: s.issuer},
		Grants:   &workload.Grants{Store: inst.Store, Keyring: inst.Keyring},
		Agents:   &workload.Agents{Store: inst.Store, Keyring: inst.Keyring, CA: inst.CA},
		Verifier: s.issuer,
		// Launch grants and join tokens need write on the resource, and
		// agent admin read/write on the agent's resource: the ARM checks.
		Authorizer: s.engine,
		CAPEM:      inst.CA.CertPEM(),
		WaitFor:    s.follower.WaitFor,
		Logger:     s.cfg.Logger,
		Audit:      s.cfg.Audit,
	})
	api.Register(mux)
	s.follower.Add(api)
	// Event streams would hold up the drain; end them when shutdown starts.
	s.onShutdown = append(s.onShutdown, api.Close)
}
