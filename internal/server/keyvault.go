package server

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/feed"
	"github.com/keyless-io/keyless/internal/keyvault"
	"github.com/keyless-io/keyless/internal/keyvaultapi"
	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/token"
	"github.com/keyless-io/keyless/verify"
)

// keyVaultEndpoints says where vault data planes are served.
func (s *Server) keyVaultEndpoints() keyvault.Endpoints {
	return keyvault.Endpoints{BaseURL: s.baseURL, TenantID: s.inst.TenantID, HostSuffix: strings.ToLower(strings.Trim(s.cfg.KeyVaultHostSuffix, "."))}
}

// resourceHooks are the data planes' hooks on ARM writes: a vault gets
// its vaultUri, and its secrets follow it when it is deleted.
func (s *Server) resourceHooks() map[string]resources.TypeHook {
	return map[string]resources.TypeHook{keyvault.VaultType: s.keyVaultEndpoints().Hook(time.Now)}
}

// localKeys verifies keyless's own tokens for the verify package without
// a round trip through discovery: the same check (and cache) as the ARM
// front door, then the payload for verify's own claim checks.
type localKeys struct{ cache *token.VerifyCache }

func (k localKeys) VerifySignature(_ context.Context, jwt string) ([]byte, error) {
	if _, err := k.cache.Verify(jwt); err != nil && !errors.Is(err, token.ErrExpired) {
		return nil, err
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed JWT")
	}
	return base64.RawURLEncoding.DecodeString(parts[1])
}

// withKeyVault serves the Key Vault secrets data plane in front of mux,
// built on the public verify package as a user's service would be, with
// the RBAC engine deciding in process (so a role assignment change applies
// to the next request). Its prefix is dispatched before the mux because a
// mux pattern for it would overlap the token service's /{tenant}/ ones.
func (s *Server) withKeyVault(ctx context.Context, mux *http.ServeMux) (http.Handler, error) {
	ep := s.keyVaultEndpoints()
	v, err := verify.New(ctx, verify.Config{
		Issuer: s.issuer.Issuer, Audiences: []string{ep.Resource()}, TenantID: s.inst.TenantID,
		Keys: localKeys{cache: &token.VerifyCache{Issuer: s.issuer}},
	})
	if err != nil {
		return nil, err
	}
	secrets := &keyvault.Service{Store: s.inst.Store, Keyring: s.inst.Keyring}
	s.follower.Add(feed.Index{
		OnChanges: func(_ context.Context, changes []store.Change) error {
			for _, c := range changes {
				if c.Kind == store.KindResource {
					secrets.ForgetVault(c.Key)
				}
			}
			return nil
		},
		OnReload: func(context.Context) error { secrets.ForgetVault(""); return nil },
	})
	h := keyvaultapi.New(keyvaultapi.Config{
		Secrets: secrets, Endpoints: ep, Logger: s.cfg.Logger,
		Guard:     &verify.Guard{Verifier: v, Authorizer: verify.AuthorizerFunc(s.checkDataAction)},
		OnRequest: s.recordKeyVault,
	})
	// A purge deletes the assignments at the secret's scope; the next call
	// must be authorized without them, as on the ARM and Graph doors.
	kv := s.metrics.Instrument("keyvault", s.readYourWrites(h))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.Serves(r) {
			kv.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	}), nil
}

// checkDataAction is the data plane's in-process authorizer. A token a
// resource obtained for a user-assigned identity (xms_az_rid) is honoured
// only while that resource still holds the identity, so detaching an
// identity stops a workload that still holds a token for it.
func (s *Server) checkDataAction(ctx context.Context, c *verify.Claims, dataAction, scope string) (verify.Decision, error) {
	if c.ComputeResourceID != "" && c.IdentityResourceID != "" && !strings.EqualFold(c.ComputeResourceID, c.IdentityResourceID) {
		attached := false
		err := s.inst.Store.View(ctx, func(tx store.Tx) error {
			r, err := tx.GetResource(ctx, c.ComputeResourceID)
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			for _, id := range r.UserAssignedIdentities {
				attached = attached || strings.EqualFold(id, c.IdentityResourceID)
			}
			return err
		})
		if err != nil {
			return verify.Decision{}, err
		}
		if !attached {
			return verify.Decision{Reason: fmt.Sprintf("the token was issued to resource %s for user-assigned identity %s, which that resource no longer holds", c.ComputeResourceID, c.IdentityResourceID)}, nil
		}
	}
	if s.engine.AllowedData(c.ObjectID, dataAction, scope) {
		return verify.Decision{Allowed: true}, nil
	}
	return verify.Decision{Reason: s.engine.ExplainData(c.ObjectID, dataAction, scope).String()}, nil
}

// recordKeyVault audits every data-plane request (who did what to which
// secret, never a value) and counts it in usage, denials apart.
func (s *Server) recordKeyVault(_ context.Context, rec keyvaultapi.Record) {
	if rec.ObjectID != "" && rec.DataAction != "" {
		s.usage.ActionPerformed(rec.ObjectID, rec.DataAction, rec.Scope, rec.Status == http.StatusForbidden && rec.Code == "Forbidden")
	}
	s.cfg.Audit.Info("keyvault request",
		"operation", rec.Operation, "dataAction", rec.DataAction, "vault", rec.Vault, "scope", rec.Scope,
		"secret", rec.Secret, "version", rec.Version, "oid", rec.ObjectID, "appid", rec.AppID,
		"status", rec.Status, "error", rec.Code, "duration", rec.Duration)
}

// purgeDeletedSecrets purges deleted secrets past their purge date
// (maintenance job; idempotent, so every replica may run it).
func (s *Server) purgeDeletedSecrets(ctx context.Context) {
	if _, err := s.inst.Store.Update(ctx, func(tx store.Tx) error {
		_, err := keyvault.PurgeExpired(ctx, tx, time.Now())
		return err
	}); err != nil && ctx.Err() == nil {
		s.cfg.Logger.Warn("purging deleted Key Vault secrets past their purge date failed; will retry", "err", err)
	}
}
