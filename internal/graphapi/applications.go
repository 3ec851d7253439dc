package graphapi

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/keyring"
	"github.com/keyless-io/keyless/internal/store"
)

// Bounds Entra puts on an application.
const (
	maxFederatedCredentials = 20
	// defaultSecretLifetime is Entra's default for addPassword.
	defaultSecretLifetime = 2 * 365 * 24 * time.Hour
	// proofAudience is the audience of addKey's and removeKey's proof of
	// possession (Azure AD Graph's application ID, as Entra requires).
	proofAudience = "00000002-0000-0000-c000-000000000000"
)

var applicationDeclared = declaredOf((&Service{}).applicationObject(store.Application{}))

func (s *Service) applications(c *call) error {
	if len(c.segs) == 1 && !strings.Contains(c.segs[0], "(") {
		switch {
		case is(http.MethodGet, c):
			return s.listApplications(c)
		case is(http.MethodPost, c):
			return s.createApplication(c)
		}
		return methodNotAllowed(c)
	}
	if len(c.segs) == 2 && c.segs[1] == "$count" {
		q, err := parseQuery(c, "application", applicationDeclared)
		if err != nil {
			return err
		}
		objs, err := s.applicationObjects(c)
		if err != nil {
			return err
		}
		return writeCount(c, q, objs)
	}
	keyProp, id, rest, ok := itemPath(c.segs)
	if !ok || (keyProp != "" && !strings.EqualFold(keyProp, "appId")) {
		return badRequest("Invalid key for applications: use the object ID or appId='{appId}'.")
	}
	byAppID := keyProp != ""
	if len(rest) == 0 {
		switch {
		case is(http.MethodGet, c):
			var a store.Application
			if err := s.view(c, func(ctx context.Context, tx store.Tx) (err error) {
				a, err = s.findApplication(ctx, tx, id, byAppID)
				return err
			}); err != nil {
				return err
			}
			writeJSON(c.w, http.StatusOK, s.entity("applications", s.applicationObject(a)))
			return nil
		case is(http.MethodPatch, c):
			return s.patchApplication(c, id, byAppID)
		case is(http.MethodDelete, c):
			return s.deleteApplication(c, id, byAppID)
		}
		return methodNotAllowed(c)
	}
	switch action(rest[0]) {
	case "addpassword":
		return s.postOnly(c, len(rest) == 1, func() error { return s.addApplicationPassword(c, id, byAppID) })
	case "removepassword":
		return s.postOnly(c, len(rest) == 1, func() error { return s.removeApplicationCredential(c, id, byAppID, store.CredentialSecret) })
	case "addkey":
		return s.postOnly(c, len(rest) == 1, func() error { return s.addApplicationKey(c, id, byAppID) })
	case "removekey":
		return s.postOnly(c, len(rest) == 1, func() error { return s.removeApplicationCredential(c, id, byAppID, store.CredentialCertificate) })
	case "federatedidentitycredentials":
		return s.federatedCredentials(c, id, byAppID, rest[1:])
	}
	return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '%s'.", clip(rest[0]))
}

func (s *Service) postOnly(c *call, pathOK bool, fn func() error) error {
	if !pathOK {
		return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s'.", clip(c.r.URL.Path))
	}
	if !is(http.MethodPost, c) {
		return methodNotAllowed(c)
	}
	return fn()
}

// entity adds the @odata.context of a single object.
func (s *Service) entity(set string, o object) object {
	o["@odata.context"] = s.graphURL("$metadata#" + set + "/$entity")
	return o
}

func (s *Service) findApplication(ctx context.Context, tx store.Tx, id string, byAppID bool) (store.Application, error) {
	var a store.Application
	var err error
	if byAppID {
		a, err = tx.GetApplicationByAppID(ctx, id)
	} else {
		a, err = tx.GetApplication(ctx, id)
	}
	if errors.Is(err, store.ErrNotFound) {
		return a, notFound(id)
	}
	return a, err
}

func (s *Service) applicationObjects(c *call) ([]object, error) {
	var objs []object
	err := s.view(c, func(ctx context.Context, tx store.Tx) error {
		apps, err := tx.ListApplications(ctx)
		for _, a := range apps {
			objs = append(objs, s.applicationObject(a))
		}
		return err
	})
	return objs, err
}

func (s *Service) listApplications(c *call) error {
	q, err := parseQuery(c, "application", applicationDeclared)
	if err != nil {
		return err
	}
	objs, err := s.applicationObjects(c)
	if err != nil {
		return err
	}
	s.writeCollection(c, "applications", q, objs)
	return nil
}

// applicationChange is what a create or update body says.
type applicationChange struct {
	displayName *string
	kept        map[string]json.RawMessage
	// keys replaces the certificate credentials when set.
	keys *[]store.Credential
}

// readApplicationBody validates a create or update body against the
// application a (its current credentials, for keyCredentials that keep a
// key by keyId).
func (s *Service) readApplicationBody(body map[string]json.RawMessage, a store.Application) (applicationChange, error) {
	ch := applicationChange{kept: map[string]json.RawMessage{}}
	for k, raw := range body {
		switch {
		case strings.HasPrefix(k, "@odata."):
		case k == "displayName":
			var name string
			if err := json.Unmarshal(raw, &name); err != nil || strings.TrimSpace(name) == "" || len(name) > 256 {
				return ch, badRequest("Invalid value specified for property 'displayName' of resource 'Application'.")
			}
			ch.displayName = &name
		case k == "keyCredentials":
			keys, err := s.readKeyCredentials(raw, a)
			if err != nil {
				return ch, err
			}
			ch.keys = &keys
		case applicationReadOnly[k]:
			if k == "passwordCredentials" && string(raw) != "[]" && string(raw) != "null" {
				return ch, badRequest("Use addPassword to add a password to an application: passwordCredentials cannot be written.")
			}
		default:
			def, ok := applicationKept[k]
			if !ok {
				return ch, badRequest("Property '%s' does not exist on type 'microsoft.graph.application'.", clip(k))
			}
			if err := checkShape(raw, def); err != nil {
				return ch, badRequest("Invalid value specified for property '%s' of resource 'Application'.", k)
			}
			ch.kept[k] = raw
		}
	}
	return ch, nil
}

// checkShape refuses a kept property whose JSON kind differs from its
// default's (a string where a list goes); null clears it.
func checkShape(raw json.RawMessage, def any) error {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return err
	}
	if v == nil {
		return nil
	}
	switch def.(type) {
	case []any:
		if _, ok := v.([]any); !ok {
			return errors.New("want a list")
		}
	case string:
		if _, ok := v.(string); !ok {
			return errors.New("want a string")
		}
	}
	return nil
}

// readKeyCredentials reads keyCredentials: a new certificate carries its
// key (base64 DER); one written back as read keeps its keyId.
func (s *Service) readKeyCredentials(raw json.RawMessage, a store.Application) ([]store.Credential, error) {
	var in []struct {
		KeyID         string     `json:"keyId"`
		Key           string     `json:"key"`
		Type          string     `json:"type"`
		Usage         string     `json:"usage"`
		DisplayName   string     `json:"displayName"`
		StartDateTime *time.Time `json:"startDateTime"`
		EndDateTime   *time.Time `json:"endDateTime"`
	}
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, badRequest("Invalid value specified for property 'keyCredentials' of resource 'Application'.")
	}
	var out []store.Credential
	now := s.cfg.Now().UTC()
	for i, k := range in {
		if k.Key == "" {
			kept := false
			for _, c := range a.Credentials {
				if c.Kind == store.CredentialCertificate && strings.EqualFold(c.ID, k.KeyID) {
					out, kept = append(out, c), true
				}
			}
			if !kept {
				return nil, badRequest("keyCredentials[%d] has no key and names no key credential of the application.", i)
			}
			continue
		}
		if k.Type != "" && k.Type != "AsymmetricX509Cert" || k.Usage != "" && k.Usage != "Verify" {
			return nil, badRequest("keyCredentials[%d]: keyless takes certificates for verification (type AsymmetricX509Cert, usage Verify).", i)
		}
		cert, err := parseCertificate(k.Key)
		if err != nil {
			return nil, badRequest("keyCredentials[%d].key is not a base64 DER X.509 certificate.", i)
		}
		cred := directory.CertificateCredential(a.ObjectID, cert, now)
		cred.DisplayName = k.DisplayName
		if cred.DisplayName == "" {
			cred.DisplayName = "CN=" + cert.Subject.CommonName
		}
		out = append(out, cred)
	}
	// Secrets are kept: keyCredentials replaces certificates only.
	var result []store.Credential
	for _, c := range a.Credentials {
		if c.Kind == store.CredentialSecret {
			result = append(result, c)
		}
	}
	return append(result, out...), nil
}

func parseCertificate(b64 string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		if der, err = base64.RawStdEncoding.DecodeString(b64); err != nil {
			return nil, err
		}
	}
	return x509.ParseCertificate(der)
}

func (ch applicationChange) apply(a store.Application) (store.Application, error) {
	if ch.displayName != nil {
		a.DisplayName = *ch.displayName
	}
	if ch.keys != nil {
		a.Credentials = *ch.keys
	}
	if len(ch.kept) > 0 {
		doc := map[string]json.RawMessage{}
		if len(a.Document) > 0 {
			if err := json.Unmarshal(a.Document, &doc); err != nil {
				return a, err
			}
		}
		for k, v := range ch.kept {
			if string(v) == "null" {
				delete(doc, k)
			} else {
				doc[k] = v
			}
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return a, err
		}
		a.Document = b
	}
	return a, nil
}

func (s *Service) createApplication(c *call) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	a := store.Application{ObjectID: uuid.NewString(), AppID: uuid.NewString(), CreatedAt: now, UpdatedAt: now}
	ch, err := s.readApplicationBody(body, a)
	if err != nil {
		return err
	}
	if ch.displayName == nil {
		return badRequest("Property 'displayName' is required to create an application.")
	}
	if a, err = ch.apply(a); err != nil {
		return err
	}
	if err := s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		return tx.CreateApplication(ctx, a)
	}); err != nil {
		return err
	}
	c.w.Header().Set("Location", s.graphURL("applications/"+a.ObjectID))
	writeJSON(c.w, http.StatusCreated, s.entity("applications", s.applicationObject(a)))
	return nil
}

func (s *Service) patchApplication(c *call, id string, byAppID bool) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		a, err := s.findApplication(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		ch, err := s.readApplicationBody(body, a)
		if err != nil {
			return err
		}
		return tx.UpdateApplication(ctx, a.ObjectID, func(a store.Application) (store.Application, error) {
			a.UpdatedAt = s.cfg.Now().UTC()
			return ch.apply(a)
		})
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteApplication deletes the application and, as Entra does, its
// service principal with every role it holds, in one transaction: no
// client of a deleted application signs in again.
func (s *Service) deleteApplication(c *call, id string, byAppID bool) error {
	err := s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		a, err := s.findApplication(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		if sp, err := tx.GetPrincipalByAppID(ctx, a.AppID); err == nil {
			if sp.ObjectID == c.caller.ObjectID {
				return badRequest("An application cannot delete itself; use another administrator.")
			}
			if err := directory.DeletePrincipal(ctx, tx, sp.ObjectID); err != nil {
				return err
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return tx.DeleteApplication(ctx, a.ObjectID)
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// readPasswordCredential reads addPassword's body: an optional
// passwordCredential with displayName, startDateTime and endDateTime.
func (s *Service) readPasswordCredential(c *call, ownerID string) (store.Credential, string, error) {
	body, err := decodeBody(c)
	if err != nil {
		return store.Credential{}, "", err
	}
	var in struct {
		DisplayName   string     `json:"displayName"`
		StartDateTime *time.Time `json:"startDateTime"`
		EndDateTime   *time.Time `json:"endDateTime"`
	}
	if _, err := member(body, "passwordCredential", &in); err != nil {
		return store.Credential{}, "", err
	}
	now := s.cfg.Now().UTC()
	start, end := now, now.Add(defaultSecretLifetime)
	if in.StartDateTime != nil {
		start = in.StartDateTime.UTC()
	}
	if in.EndDateTime != nil {
		end = in.EndDateTime.UTC()
	}
	if !end.After(start) || !end.After(now) {
		return store.Credential{}, "", badRequest("Invalid passwordCredential: endDateTime must be after startDateTime and in the future.")
	}
	if len(in.DisplayName) > 256 {
		return store.Credential{}, "", badRequest("Invalid passwordCredential: displayName is longer than 256 characters.")
	}
	secret := keyring.NewSecret(directory.SecretPrefix)
	cred := directory.SecretCredential(s.cfg.Keyring, ownerID, secret, start, end)
	cred.DisplayName, cred.CreatedAt = in.DisplayName, now
	return cred, secret, nil
}

func secretAnswer(cred store.Credential, secret string) object {
	w := passwordWire(cred)
	w.SecretText = &secret
	o := toObject(w)
	o["@odata.type"] = "#microsoft.graph.passwordCredential"
	return o
}

func (s *Service) addApplicationPassword(c *call, id string, byAppID bool) error {
	cred, secret, err := s.readPasswordCredential(c, "")
	if err != nil {
		return err
	}
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		a, err := s.findApplication(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		cred.PrincipalID = a.ObjectID
		return tx.UpdateApplication(ctx, a.ObjectID, func(a store.Application) (store.Application, error) {
			a.Credentials = append(a.Credentials, cred)
			a.UpdatedAt = s.cfg.Now().UTC()
			return a, nil
		})
	})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, secretAnswer(cred, secret))
	return nil
}

// removeApplicationCredential serves removePassword and removeKey.
func (s *Service) removeApplicationCredential(c *call, id string, byAppID bool, kind store.CredentialKind) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	var keyID, proof string
	if _, err := member(body, "keyId", &keyID); err != nil {
		return err
	}
	if _, err := member(body, "proof", &proof); err != nil {
		return err
	}
	if keyID == "" {
		return badRequest("Property 'keyId' is required.")
	}
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		a, err := s.findApplication(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		if kind == store.CredentialCertificate {
			if err := s.checkProof(a, proof); err != nil {
				return err
			}
		}
		return tx.UpdateApplication(ctx, a.ObjectID, func(a store.Application) (store.Application, error) {
			kept := a.Credentials[:0:0]
			for _, cr := range a.Credentials {
				if !(cr.Kind == kind && strings.EqualFold(cr.ID, keyID)) {
					kept = append(kept, cr)
				}
			}
			if len(kept) == len(a.Credentials) {
				return a, badRequest("No credential with keyId '%s' exists on the application.", clip(keyID))
			}
			a.Credentials, a.UpdatedAt = kept, s.cfg.Now().UTC()
			return a, nil
		})
	})
	if err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}

// addApplicationKey adds a certificate, proven by a JWT signed with one of
// the application's current certificates (Entra's addKey): whoever holds
// the application's key may roll it. An application without a
// certificate gets its first through keyCredentials (create or PATCH).
func (s *Service) addApplicationKey(c *call, id string, byAppID bool) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	var proof string
	if _, err := member(body, "proof", &proof); err != nil {
		return err
	}
	keyRaw, ok := body["keyCredential"]
	if !ok {
		return badRequest("Property 'keyCredential' is required.")
	}
	if raw, ok := body["passwordCredential"]; ok && string(raw) != "null" {
		return badRequest("keyless takes certificates only in addKey; use addPassword for passwords.")
	}
	var added store.Credential
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		a, err := s.findApplication(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		if err := s.checkProof(a, proof); err != nil {
			return err
		}
		creds, err := s.readKeyCredentials(json.RawMessage("["+string(keyRaw)+"]"), store.Application{ObjectID: a.ObjectID})
		if err != nil {
			return err
		}
		added = creds[len(creds)-1]
		return tx.UpdateApplication(ctx, a.ObjectID, func(a store.Application) (store.Application, error) {
			a.Credentials = append(a.Credentials, added)
			a.UpdatedAt = s.cfg.Now().UTC()
			return a, nil
		})
	})
	if err != nil {
		return err
	}
	o := toObject(keyWire(added))
	o["@odata.context"] = s.graphURL("$metadata#microsoft.graph.keyCredential")
	writeJSON(c.w, http.StatusOK, o)
	return nil
}

// checkProof verifies addKey's and removeKey's proof of possession: a JWT
// signed (RS256) with a current certificate of the application, issued by
// the application's object ID for Azure AD Graph, lasting at most ten
// minutes.
func (s *Service) checkProof(a store.Application, proof string) error {
	refuse := badRequest("Invalid proof: it must be a JWT signed with a current certificate of the application (iss the application's object ID, aud %s, nbf and exp at most 10 minutes apart).", proofAudience)
	tok, err := jwt.ParseSigned(proof, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return refuse
	}
	now := s.cfg.Now()
	for _, cr := range a.Credentials {
		if cr.Kind != store.CredentialCertificate || (!cr.NotAfter.IsZero() && now.After(cr.NotAfter)) {
			continue
		}
		cert, err := x509.ParseCertificate(cr.CertificateDER)
		if err != nil {
			continue
		}
		var claims jwt.Claims
		if err := tok.Claims(cert.PublicKey, &claims); err != nil {
			continue
		}
		if claims.NotBefore == nil || claims.Expiry == nil || claims.Expiry.Time().Sub(claims.NotBefore.Time()) > 10*time.Minute {
			return refuse
		}
		if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: a.ObjectID, AnyAudience: jwt.Audience{proofAudience}, Time: now}, time.Minute); err != nil {
			return refuse
		}
		return nil
	}
	return refuse
}

// federatedCredentials serves applications/{id}/federatedIdentityCredentials.
func (s *Service) federatedCredentials(c *call, id string, byAppID bool, rest []string) error {
	set := "applications('" + id + "')/federatedIdentityCredentials"
	if len(rest) == 0 {
		switch {
		case is(http.MethodGet, c):
			q, err := parseQuery(c, "federatedIdentityCredential", ficDeclared)
			if err != nil {
				return err
			}
			var objs []object
			if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
				a, err := s.findApplication(ctx, tx, id, byAppID)
				for _, f := range a.FederatedCredentials {
					objs = append(objs, federatedCredentialObject(f))
				}
				return err
			}); err != nil {
				return err
			}
			s.writeCollection(c, set, q, objs)
			return nil
		case is(http.MethodPost, c):
			return s.createFederatedCredential(c, id, byAppID, set)
		}
		return methodNotAllowed(c)
	}
	if len(rest) != 1 {
		return errorf(http.StatusBadRequest, "BadRequest", "Resource not found for the path '%s'.", clip(c.r.URL.Path))
	}
	// The credential is named by its ID or its name, as Graph allows.
	ficKey := rest[0]
	if _, prop, val := keySegment(ficKey); strings.EqualFold(prop, "name") {
		ficKey = val
	}
	find := func(a store.Application) int {
		for i, f := range a.FederatedCredentials {
			if strings.EqualFold(f.ID, ficKey) || strings.EqualFold(f.Name, ficKey) {
				return i
			}
		}
		return -1
	}
	switch {
	case is(http.MethodGet, c):
		var f store.ApplicationFederatedCredential
		if err := s.view(c, func(ctx context.Context, tx store.Tx) error {
			a, err := s.findApplication(ctx, tx, id, byAppID)
			if err != nil {
				return err
			}
			i := find(a)
			if i < 0 {
				return notFound(ficKey)
			}
			f = a.FederatedCredentials[i]
			return nil
		}); err != nil {
			return err
		}
		writeJSON(c.w, http.StatusOK, s.entity(set, federatedCredentialObject(f)))
		return nil
	case is(http.MethodPatch, c), is(http.MethodDelete, c):
		var body map[string]json.RawMessage
		if is(http.MethodPatch, c) {
			var err error
			if body, err = decodeBody(c); err != nil {
				return err
			}
		}
		err := s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
			a, err := s.findApplication(ctx, tx, id, byAppID)
			if err != nil {
				return err
			}
			i := find(a)
			if i < 0 {
				return notFound(ficKey)
			}
			fics := append([]store.ApplicationFederatedCredential(nil), a.FederatedCredentials...)
			if body == nil {
				fics = append(fics[:i], fics[i+1:]...)
			} else {
				f, err := readFederatedCredential(body, fics[i])
				if err != nil {
					return err
				}
				if !strings.EqualFold(f.Name, fics[i].Name) {
					return badRequest("The name of a federated identity credential cannot change.")
				}
				fics[i] = f
			}
			return tx.UpdateApplication(ctx, a.ObjectID, func(a store.Application) (store.Application, error) {
				a.FederatedCredentials, a.UpdatedAt = fics, s.cfg.Now().UTC()
				return a, nil
			})
		})
		if err != nil {
			return err
		}
		c.w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return methodNotAllowed(c)
}

var ficDeclared = declaredOf(federatedCredentialObject(store.ApplicationFederatedCredential{}))

// readFederatedCredential lays a body over f and validates the result as
// Entra does: a name of 3 to 120 characters, an https issuer, a subject,
// exactly one audience.
func readFederatedCredential(body map[string]json.RawMessage, f store.ApplicationFederatedCredential) (store.ApplicationFederatedCredential, error) {
	for k := range body {
		switch k {
		case "name", "issuer", "subject", "description", "audiences", "id":
		default:
			if !strings.HasPrefix(k, "@odata.") {
				return f, badRequest("Property '%s' does not exist on type 'microsoft.graph.federatedIdentityCredential'.", clip(k))
			}
		}
	}
	for _, m := range []struct {
		name string
		dst  any
	}{{"name", &f.Name}, {"issuer", &f.Issuer}, {"subject", &f.Subject}, {"description", &f.Description}, {"audiences", &f.Audiences}} {
		if _, err := member(body, m.name, m.dst); err != nil {
			return f, err
		}
	}
	switch u, err := url.Parse(f.Issuer); {
	case len(f.Name) < 3 || len(f.Name) > 120 || strings.ContainsAny(f.Name, "/\\?#%"):
		return f, badRequest("Invalid federated identity credential: name must be 3 to 120 characters without / \\ ? # or %%.")
	case err != nil || u.Scheme != "https" || u.Host == "":
		return f, badRequest("Invalid federated identity credential: issuer must be an https URL.")
	case strings.TrimSpace(f.Subject) == "" || len(f.Subject) > 600:
		return f, badRequest("Invalid federated identity credential: subject must be 1 to 600 characters.")
	case len(f.Audiences) != 1 || strings.TrimSpace(f.Audiences[0]) == "":
		return f, badRequest("Invalid federated identity credential: audiences must hold exactly one audience, such as api://AzureADTokenExchange.")
	case len(f.Description) > 600:
		return f, badRequest("Invalid federated identity credential: description is longer than 600 characters.")
	}
	return f, nil
}

func (s *Service) createFederatedCredential(c *call, id string, byAppID bool, set string) error {
	body, err := decodeBody(c)
	if err != nil {
		return err
	}
	f, err := readFederatedCredential(body, store.ApplicationFederatedCredential{ID: uuid.NewString()})
	if err != nil {
		return err
	}
	err = s.update(c, directory.ManageApplications, func(ctx context.Context, tx store.Tx) error {
		a, err := s.findApplication(ctx, tx, id, byAppID)
		if err != nil {
			return err
		}
		if len(a.FederatedCredentials) >= maxFederatedCredentials {
			return badRequest("An application holds at most %d federated identity credentials.", maxFederatedCredentials)
		}
		for _, other := range a.FederatedCredentials {
			if strings.EqualFold(other.Name, f.Name) {
				return errorf(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "FederatedIdentityCredential with name %s already exists.", clip(f.Name))
			}
			if other.Issuer == f.Issuer && other.Subject == f.Subject {
				return errorf(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "A federated identity credential with this issuer and subject already exists on the application.")
			}
		}
		return tx.UpdateApplication(ctx, a.ObjectID, func(a store.Application) (store.Application, error) {
			a.FederatedCredentials = append(a.FederatedCredentials, f)
			a.UpdatedAt = s.cfg.Now().UTC()
			return a, nil
		})
	})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, s.entity(set, federatedCredentialObject(f)))
	return nil
}
