package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/deploy"
	"github.com/keyless-io/keyless/internal/deployapi"
)

// armDispatcher sends a deployment's requests to the ARM front door in
// process, as the deploying caller, through the same read-your-writes
// wrapper as network requests: a role assignment for an identity the same
// deployment just created finds its principal at once.
type armDispatcher struct {
	handler http.Handler
	host    string
}

func (d armDispatcher) Do(ctx context.Context, caller deploy.Caller, method, path, apiVersion string, body []byte, correlationID string) (int, []byte, error) {
	u, err := url.Parse(path)
	if err != nil {
		return 0, nil, err
	}
	q := u.Query()
	if apiVersion != "" && q.Get("api-version") == "" {
		q.Set("api-version", apiVersion)
	}
	u.RawQuery = q.Encode()
	ctx = arm.WithCaller(ctx, arm.Caller{ObjectID: caller.ObjectID, AppID: caller.AppID, TenantID: caller.TenantID, DisplayName: caller.DisplayName})
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "https://"+d.host+u.EscapedPath()+"?"+u.RawQuery, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if correlationID != "" {
		req.Header.Set("x-ms-correlation-request-id", correlationID)
	}
	req.RemoteAddr = "in-process"
	rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	d.handler.ServeHTTP(rec, req)
	return rec.status, rec.body.Bytes(), ctx.Err()
}

// registerDeployments builds the deployment engine on the front door and
// mounts its API.
func (s *Server) registerDeployments(frontDoor http.Handler) {
	host := strings.TrimPrefix(strings.TrimPrefix(s.baseURL, "https://"), "http://")
	s.deployer = deploy.New(deploy.Config{
		Store: s.inst.Store, Dispatch: armDispatcher{handler: frontDoor, host: host}, TenantID: s.inst.TenantID,
		Environment: s.environment(), Logger: s.cfg.Logger, SingleReplica: s.inst.Store.Backend() == "sqlite",
		Allowed: s.engine.Allowed,
	})
	deployapi.Register(s.arm, deployapi.Config{Engine: s.deployer, BaseURL: s.baseURL})
}

// recoverDeployments marks deployments abandoned by a stopped replica
// Failed, at start and then every minute.
func (s *Server) recoverDeployments(ctx context.Context) {
	for {
		if n, err := s.deployer.Recover(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("marking interrupted deployments failed; will retry", "err", err)
		} else if n > 0 {
			s.cfg.Logger.Warn("deployments interrupted by a server stop were marked Failed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
	}
}

// environment is environment() in templates: keyless's own cloud, with
// its endpoints where keyless serves them.
func (s *Server) environment() map[string]any {
	base := s.baseURL + "/"
	return map[string]any{
		"name":                    "keyless",
		"gallery":                 "",
		"graph":                   "",
		"portal":                  base,
		"graphAudience":           "",
		"activeDirectoryDataLake": "",
		"batch":                   "",
		"media":                   "",
		"sqlManagement":           "",
		"vmImageAliasDoc":         "",
		"resourceManager":         base,
		"authentication": map[string]any{
			"loginEndpoint":    base,
			"audiences":        []string{"https://management.core.windows.net/", "https://management.azure.com/"},
			"tenant":           "common",
			"identityProvider": "AAD",
		},
		"suffixes": map[string]any{
			"acrLoginServer": "", "azureDatalakeAnalyticsCatalogAndJob": "", "azureDatalakeStoreFileSystem": "",
			"azureFrontDoorEndpointSuffix": "", "keyvaultDns": "", "sqlServerHostname": "", "storage": "",
		},
	}
}
