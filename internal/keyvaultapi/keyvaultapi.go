// Package keyvaultapi is the Key Vault secrets data plane's front door:
// the REST API azsecrets (and the other Azure SDKs) speak, served at each
// vault's vaultUri on the keyless host. It authenticates and authorizes
// every request through the public verify package, exactly as a user's
// own service would, answers in Key Vault's error shapes, and reports each
// request (never a value) to the audit and usage hooks.
package keyvaultapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/keyvault"
	"github.com/keyless-io/keyless/verify"
)

// Data actions, as Azure names them.
const (
	ActionGetSecret    = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	ActionReadMetadata = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	ActionSetSecret    = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
	ActionUpdate       = "Microsoft.KeyVault/vaults/secrets/update/action"
	ActionDelete       = "Microsoft.KeyVault/vaults/secrets/delete"
	ActionRecover      = "Microsoft.KeyVault/vaults/secrets/recover/action"
	ActionPurge        = "Microsoft.KeyVault/vaults/secrets/purge/action"
	ActionBackup       = "Microsoft.KeyVault/vaults/secrets/backup/action"
	ActionRestore      = "Microsoft.KeyVault/vaults/secrets/restore/action"
)

// PathPrefix is where vaults are served: PathPrefix + name + "/".
const PathPrefix = "/keyvault/"

// Record is one data-plane request, for the audit log and usage.
type Record struct {
	Vault      string
	Operation  string
	DataAction string
	// Scope is the vault or the secret's RBAC scope.
	Scope    string
	Secret   string
	Version  string
	ObjectID string
	AppID    string
	Status   int
	Code     string
	Duration time.Duration
}

// Config configures the handler.
type Config struct {
	Secrets   *keyvault.Service
	Endpoints keyvault.Endpoints
	Guard     *verify.Guard
	// OnRequest is called after every request that named a vault.
	OnRequest func(ctx context.Context, rec Record)
	Logger    *slog.Logger
	// MaxBodyBytes caps request bodies; 0 means 1 MiB (secret values are
	// at most 25 KiB in Key Vault, backups a little more).
	MaxBodyBytes int64
}

// Handler serves PathPrefix, and in host mode every path of a vault host
// (Serves says which requests are its).
type Handler struct{ cfg Config }

// New builds the handler. cfg.Guard's Challenge and Deny are set here.
func New(cfg Config) *Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The challenge azsecrets' policy parses: authorization names the
	// authority (and so the tenant), resource the token audience.
	cfg.Guard.Challenge = `Bearer authorization="` + strings.TrimSuffix(cfg.Endpoints.BaseURL, "/") + "/" + cfg.Endpoints.TenantID +
		`", resource="` + cfg.Endpoints.Resource() + `"`
	cfg.Guard.Deny = func(w http.ResponseWriter, r *http.Request, ref *verify.Refusal) {
		writeRefusal(w, ref)
	}
	return &Handler{cfg: cfg}
}

// Serves reports whether r is a data-plane request.
func (h *Handler) Serves(r *http.Request) bool {
	if _, ok := h.cfg.Endpoints.VaultOfHost(r.Host); ok {
		return true
	}
	return h.cfg.Endpoints.HostSuffix == "" && strings.HasPrefix(r.URL.Path, PathPrefix)
}

var secretName = regexp.MustCompile(`^[0-9a-zA-Z-]{1,127}$`)

// request is one parsed data-plane call.
type request struct {
	op, action, scope string
	vault             keyvault.Vault
	name, version     string
	rec               Record
	start             time.Time
}

// statusWriter remembers the status for the record.
type statusWriter struct {
	http.ResponseWriter
	status int
	code   string
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	vaultName, sub, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), PathPrefix), "/")
	if name, ok := h.cfg.Endpoints.VaultOfHost(r.Host); ok {
		vaultName, sub = name, r.URL.EscapedPath()
	}
	segs := splitPath(sub)
	sw := &statusWriter{ResponseWriter: w}
	w = sw
	// Authentication comes first, as in Key Vault: the SDK's first request
	// carries no token and expects the challenge whatever the path.
	claims, ref := h.authenticate(r)
	if ref != nil {
		h.cfg.Guard.DenyRequest(w, r, ref)
		return
	}
	r = r.WithContext(verify.WithClaims(r.Context(), claims))
	if v := r.URL.Query().Get("api-version"); v == "" {
		writeError(w, http.StatusBadRequest, "BadParameter", "The request is missing the api-version query parameter.", "")
		return
	}
	v, err := h.cfg.Secrets.Vault(r.Context(), vaultName)
	if err != nil {
		if errors.Is(err, keyvault.ErrVaultNotFound) {
			writeError(w, http.StatusNotFound, "VaultNotFound", "No vault named '"+vaultName+"' exists in this installation.", "")
			return
		}
		h.internal(w, err)
		return
	}
	req := &request{vault: v, start: start}
	handler := h.route(r.Method, segs, req)
	if handler == nil {
		writeError(w, http.StatusNotFound, "NotFound", "No Key Vault operation is served at "+r.Method+" "+r.URL.Path+".", "")
		return
	}
	if req.name != "" && !secretName.MatchString(req.name) {
		writeError(w, http.StatusBadRequest, "BadParameter", "The secret name '"+req.name+"' is invalid: it must be 1-127 letters, digits and dashes.", "")
		return
	}
	req.scope = v.ID
	if req.name != "" {
		req.scope = keyvault.SecretScope(v, req.name)
	}
	defer func() {
		if h.cfg.OnRequest != nil {
			h.cfg.OnRequest(r.Context(), Record{Vault: v.ID, Operation: req.op, DataAction: req.action, Scope: req.scope,
				Secret: req.name, Version: req.version, ObjectID: claims.ObjectID, AppID: claims.AppID,
				Status: sw.status, Code: sw.code, Duration: time.Since(start)})
		}
	}()
	if ref := h.cfg.Guard.Check(r, req.action, req.scope); ref != nil {
		h.cfg.Guard.DenyRequest(w, r, ref)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	if err := handler(w, r, req); err != nil {
		h.writeErr(w, req, err)
	}
}

func (h *Handler) authenticate(r *http.Request) (*verify.Claims, *verify.Refusal) {
	raw := verify.BearerToken(r)
	if raw == "" {
		return nil, &verify.Refusal{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: "AKV10000: Request is missing a Bearer or PoP token."}
	}
	c, err := h.cfg.Guard.Verifier.Verify(r.Context(), raw)
	switch {
	case errors.Is(err, verify.ErrExpired):
		return nil, &verify.Refusal{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: "AKV10022: Invalid audience or token expired: " + err.Error() + ".", Err: err}
	case errors.Is(err, verify.ErrAudience):
		return nil, &verify.Refusal{Status: http.StatusUnauthorized, Code: "Unauthorized",
			Message: "AKV10022: Invalid audience. Expected " + h.cfg.Endpoints.Resource() + ", found: " + strings.TrimPrefix(err.Error(), verify.ErrAudience.Error()+": ") + ".", Err: err}
	case err != nil:
		return nil, &verify.Refusal{Status: http.StatusUnauthorized, Code: "Unauthorized", Message: "AKV10032: Invalid issuer or token: " + err.Error() + ".", Err: err}
	}
	return c, nil
}

func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if u, err := url.PathUnescape(s); err == nil {
			segs[i] = u
		}
	}
	return segs
}

type opFunc func(w http.ResponseWriter, r *http.Request, req *request) error

// route matches the secrets API's paths (relative to the vault URI).
func (h *Handler) route(method string, segs []string, req *request) opFunc {
	set := func(op, action string, fn opFunc) opFunc {
		req.op, req.action = op, action
		return fn
	}
	n := len(segs)
	switch {
	case n == 1 && segs[0] == "secrets" && method == http.MethodGet:
		return set("GetSecrets", ActionReadMetadata, h.list(false))
	case n == 1 && segs[0] == "deletedsecrets" && method == http.MethodGet:
		return set("GetDeletedSecrets", ActionReadMetadata, h.list(true))
	case n == 2 && segs[0] == "secrets" && segs[1] == "restore" && method == http.MethodPost:
		return set("RestoreSecret", ActionRestore, h.restore)
	case n >= 2 && segs[0] == "secrets":
		req.name = segs[1]
		switch {
		case n == 2 && method == http.MethodPut:
			return set("SetSecret", ActionSetSecret, h.setSecret)
		case n == 2 && method == http.MethodDelete:
			return set("DeleteSecret", ActionDelete, h.deleteSecret)
		case (n == 2 || n == 3) && method == http.MethodGet && (n == 2 || segs[2] != "versions"):
			if n == 3 {
				req.version = segs[2]
			}
			return set("GetSecret", ActionGetSecret, h.getSecret)
		case n == 3 && segs[2] == "versions" && method == http.MethodGet:
			return set("GetSecretVersions", ActionReadMetadata, h.versions)
		case n == 3 && segs[2] == "backup" && method == http.MethodPost:
			return set("BackupSecret", ActionBackup, h.backup)
		case (n == 2 || n == 3) && method == http.MethodPatch:
			if n == 3 {
				req.version = segs[2]
			}
			return set("UpdateSecret", ActionUpdate, h.update)
		}
	case n >= 2 && segs[0] == "deletedsecrets":
		req.name = segs[1]
		switch {
		case n == 2 && method == http.MethodGet:
			return set("GetDeletedSecret", ActionReadMetadata, h.getDeleted)
		case n == 2 && method == http.MethodDelete:
			return set("PurgeDeletedSecret", ActionPurge, h.purge)
		case n == 3 && segs[2] == "recover" && method == http.MethodPost:
			return set("RecoverDeletedSecret", ActionRecover, h.recover)
		}
	}
	return nil
}

func (h *Handler) vaultURI(v keyvault.Vault) string { return h.cfg.Endpoints.VaultURI(v.Name) }

func (h *Handler) wire(v keyvault.Vault, s keyvault.Secret, withVersion, withValue bool) secretWire {
	id := h.vaultURI(v) + "secrets/" + s.Name
	if withVersion {
		id += "/" + s.Version
	}
	days := v.RetentionDays
	enabled := s.Enabled
	out := secretWire{ID: id, ContentType: s.ContentType, Tags: s.Tags, Attributes: attributesWire{
		Enabled: &enabled, NotBefore: unixPtr(s.NotBefore), Expires: unixPtr(s.Expires),
		Created: unixPtr(s.Created), Updated: unixPtr(s.Updated), RecoveryLevel: v.RecoveryLevel(),
	}}
	if v.SoftDelete {
		out.Attributes.RecoverableDays = &days
	}
	if withValue {
		val := s.Value
		out.Value = &val
	}
	if !s.DeletedAt.IsZero() {
		out.RecoveryID = h.vaultURI(v) + "deletedsecrets/" + s.Name
		out.DeletedDate, out.ScheduledPurgeDate = unixPtr(s.DeletedAt), unixPtr(s.ScheduledPurge)
	}
	return out
}

func decode(r *http.Request, v any) error {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return badParameter("The request body could not be read: " + err.Error())
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badParameter("The request body is not valid JSON: " + err.Error())
	}
	return nil
}

type apiError struct {
	status      int
	code, inner string
	message     string
}

func (e *apiError) Error() string { return e.message }

func badParameter(msg string) error {
	return &apiError{status: http.StatusBadRequest, code: "BadParameter", message: msg}
}

func (h *Handler) setSecret(w http.ResponseWriter, r *http.Request, req *request) error {
	var body setRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Value == nil {
		return badParameter("The request body must carry the secret's 'value'.")
	}
	if len(*body.Value) > 25*1024 {
		return badParameter("The secret value is larger than 25 KiB.")
	}
	a := attributesOf(body.Attributes)
	a.ContentType, a.Tags = body.ContentType, body.Tags
	s, err := h.cfg.Secrets.Set(r.Context(), req.vault, req.name, *body.Value, a)
	if err != nil {
		return err
	}
	req.version = s.Version
	writeJSON(w, http.StatusOK, h.wire(req.vault, s, true, true))
	return nil
}

func (h *Handler) getSecret(w http.ResponseWriter, r *http.Request, req *request) error {
	s, err := h.cfg.Secrets.Get(r.Context(), req.vault, req.name, req.version)
	if err != nil {
		return err
	}
	req.version = s.Version
	writeJSON(w, http.StatusOK, h.wire(req.vault, s, true, true))
	return nil
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request, req *request) error {
	var body updateRequest
	if err := decode(r, &body); err != nil {
		return err
	}
	a := attributesOf(body.Attributes)
	a.ContentType, a.Tags = body.ContentType, body.Tags
	s, err := h.cfg.Secrets.Update(r.Context(), req.vault, req.name, req.version, a)
	if err != nil {
		return err
	}
	req.version = s.Version
	writeJSON(w, http.StatusOK, h.wire(req.vault, s, true, false))
	return nil
}

func (h *Handler) deleteSecret(w http.ResponseWriter, r *http.Request, req *request) error {
	s, err := h.cfg.Secrets.Delete(r.Context(), req.vault, req.name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.wire(req.vault, s, true, false))
	return nil
}

func (h *Handler) getDeleted(w http.ResponseWriter, r *http.Request, req *request) error {
	s, err := h.cfg.Secrets.GetDeleted(r.Context(), req.vault, req.name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.wire(req.vault, s, true, false))
	return nil
}

func (h *Handler) recover(w http.ResponseWriter, r *http.Request, req *request) error {
	s, err := h.cfg.Secrets.Recover(r.Context(), req.vault, req.name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, h.wire(req.vault, s, true, false))
	return nil
}

func (h *Handler) purge(w http.ResponseWriter, r *http.Request, req *request) error {
	if err := h.cfg.Secrets.Purge(r.Context(), req.vault, req.name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) backup(w http.ResponseWriter, r *http.Request, req *request) error {
	blob, err := h.cfg.Secrets.Backup(r.Context(), req.vault, req.name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, blobWire{Value: base64.RawURLEncoding.EncodeToString(blob)})
	return nil
}

func (h *Handler) restore(w http.ResponseWriter, r *http.Request, req *request) error {
	var body blobWire
	if err := decode(r, &body); err != nil {
		return err
	}
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(body.Value, "="))
	if err != nil {
		return badParameter("The backup blob is not base64url.")
	}
	s, err := h.cfg.Secrets.Restore(r.Context(), req.vault, blob)
	if err != nil {
		return err
	}
	req.name, req.version = s.Name, s.Version
	writeJSON(w, http.StatusOK, h.wire(req.vault, s, true, false))
	return nil
}

// pageSize reads maxresults (1..25, Key Vault's bounds; 25 by default).
func pageSize(r *http.Request) (int, error) {
	v := r.URL.Query().Get("maxresults")
	if v == "" {
		return 25, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 25 {
		return 0, badParameter("maxresults must be between 1 and 25.")
	}
	return n, nil
}

func (h *Handler) nextLink(r *http.Request, req *request, path, after string, size int) *string {
	q := url.Values{}
	q.Set("api-version", r.URL.Query().Get("api-version"))
	q.Set("maxresults", strconv.Itoa(size))
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(after)))
	link := h.vaultURI(req.vault) + path + "?" + q.Encode()
	return &link
}

func skipToken(r *http.Request) (string, error) {
	t := r.URL.Query().Get("$skiptoken")
	if t == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return "", badParameter("The $skiptoken is malformed.")
	}
	return string(b), nil
}

func (h *Handler) list(deleted bool) opFunc {
	return func(w http.ResponseWriter, r *http.Request, req *request) error {
		if deleted && !req.vault.SoftDelete {
			return keyvault.ErrNoSoftDelete
		}
		size, err := pageSize(r)
		if err != nil {
			return err
		}
		after, err := skipToken(r)
		if err != nil {
			return err
		}
		// One more than a page says whether there is a next one.
		secrets, err := h.cfg.Secrets.List(r.Context(), req.vault, deleted, after, size+1)
		if err != nil {
			return err
		}
		out := pageWire{Value: []secretWire{}}
		for i, s := range secrets {
			if i == size {
				path := "secrets"
				if deleted {
					path = "deletedsecrets"
				}
				out.NextLink = h.nextLink(r, req, path, strings.ToLower(secrets[i-1].Name), size)
				break
			}
			item := h.wire(req.vault, s, false, false)
			out.Value = append(out.Value, item)
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *Handler) versions(w http.ResponseWriter, r *http.Request, req *request) error {
	size, err := pageSize(r)
	if err != nil {
		return err
	}
	after, err := skipToken(r)
	if err != nil {
		return err
	}
	vs, err := h.cfg.Secrets.Versions(r.Context(), req.vault, req.name, after, size+1)
	if err != nil {
		return err
	}
	out := pageWire{Value: []secretWire{}}
	for i, s := range vs {
		if i == size {
			out.NextLink = h.nextLink(r, req, "secrets/"+req.name+"/versions", vs[i-1].Version, size)
			break
		}
		out.Value = append(out.Value, h.wire(req.vault, s, true, false))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// writeErr maps domain errors to Key Vault's codes and statuses, once.
func (h *Handler) writeErr(w http.ResponseWriter, req *request, err error) {
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		writeError(w, ae.status, ae.code, ae.message, ae.inner)
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "RequestBodyTooLarge", "The request body is larger than the data plane accepts.", "")
	case errors.Is(err, keyvault.ErrNotFound):
		msg := "A secret with (name/id) " + req.name + " was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
		if req.version != "" {
			msg = "A secret with (name/id) " + req.name + "/" + req.version + " was not found in this key vault. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
		}
		writeError(w, http.StatusNotFound, "SecretNotFound", msg, "")
	case errors.Is(err, keyvault.ErrDeletedNotFound):
		writeError(w, http.StatusNotFound, "SecretNotFound", "Deleted Secret not found: "+req.name, "")
	case errors.Is(err, keyvault.ErrBeingDeleted):
		writeError(w, http.StatusConflict, "Conflict", "Secret "+req.name+" is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", "ObjectIsDeletedButRecoverable")
	case errors.Is(err, keyvault.ErrExists):
		writeError(w, http.StatusConflict, "Conflict", "A secret with this name already exists in the vault (live or deleted): purge or delete it before restoring.", "")
	case errors.Is(err, keyvault.ErrDisabled):
		writeError(w, http.StatusForbidden, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled")
	case errors.Is(err, keyvault.ErrPurgeProtected):
		writeError(w, http.StatusForbidden, "Forbidden", "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed.", "")
	case errors.Is(err, keyvault.ErrNoSoftDelete):
		writeError(w, http.StatusBadRequest, "BadParameter", "Operation not allowed: soft delete is not enabled on this vault.", "")
	case errors.Is(err, keyvault.ErrBadBackup):
		writeError(w, http.StatusBadRequest, "BadParameter", "The backup blob is malformed, or was not made by this installation.", "")
	default:
		h.internal(w, err)
	}
}

func (h *Handler) internal(w http.ResponseWriter, err error) {
	h.cfg.Logger.Error("key vault data plane: internal error", "err", err)
	writeError(w, http.StatusInternalServerError, "InternalServerError", "The data plane failed to serve the request.", "")
}

func writeRefusal(w http.ResponseWriter, ref *verify.Refusal) {
	switch ref.Status {
	case http.StatusForbidden:
		c := ref.Claims
		msg := "Caller is not authorized to perform action on resource.\r\n" +
			"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
			"Caller: appid=" + c.AppID + ";oid=" + c.ObjectID + ";iss=" + c.Issuer + "\r\n" +
			"Action: '" + ref.DataAction + "'\r\n" +
			"Resource: '" + strings.ToLower(ref.Scope) + "'\r\n" +
			"Assignment: (not found)\r\n" +
			"DecisionReason: '" + ref.Message + "'\r\n"
		writeError(w, http.StatusForbidden, "Forbidden", msg, "ForbiddenByRbac")
	default:
		writeError(w, ref.Status, ref.Code, ref.Message, "")
	}
}

func writeError(w http.ResponseWriter, status int, code, message, inner string) {
	if sw, ok := w.(*statusWriter); ok {
		sw.code = code
	}
	body := errorWire{Error: errorBody{Code: code, Message: message}}
	if inner != "" {
		body.Error.InnerError = &innerWire{Code: inner}
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
