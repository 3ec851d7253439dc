package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/deploy"
	"github.com/keyless-io/keyless/internal/portal"
)

// portalDispatcher is the portal's way to the front door: the same
// in-process dispatch as the deployment engine's (arm.WithCaller through
// read-your-writes), so a page shown after a change already reflects it.
type portalDispatcher struct{ armDispatcher }

func (d portalDispatcher) Do(ctx context.Context, c arm.Caller, method, path, apiVersion string, body []byte) (int, []byte, error) {
	return d.armDispatcher.Do(ctx, deploy.Caller{ObjectID: c.ObjectID, AppID: c.AppID, TenantID: c.TenantID, DisplayName: c.DisplayName},
		method, path, apiVersion, body, "")
}

// registerPortal mounts the browser portal at /portal/ and its sign-in
// link route on the front door.
func (s *Server) registerPortal(mux *http.ServeMux, frontDoor http.Handler) error {
	host := strings.TrimPrefix(strings.TrimPrefix(s.baseURL, "https://"), "http://")
	p, err := portal.New(portal.Config{
		Store: s.inst.Store, ARM: portalDispatcher{armDispatcher{handler: frontDoor, host: host}},
		Allowed: s.engine.Allowed, BaseURL: s.baseURL, SessionLifetime: s.cfg.PortalSessionLifetime, Logger: s.cfg.Logger,
		PrincipalExists: func(objectID string) bool {
			_, ok := s.dir.ByObjectID(objectID)
			return ok
		},
	})
	if err != nil {
		return err
	}
	p.RegisterARM(s.arm)
	h := s.metrics.Instrument("portal", p.Handler())
	for _, pattern := range p.Patterns() {
		mux.Handle(pattern, h)
	}
	return nil
}

// isPortalPath reports the paths the portal serves; its redirects (after
// sign-in, after a change) are the only ones keyless sends.
func isPortalPath(p string) bool {
	return p == strings.TrimSuffix(portal.Path, "/") || strings.HasPrefix(p, portal.Path)
}
