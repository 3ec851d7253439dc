package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyless-io/keyless/internal/arm"
)

// API versions the portal speaks, one per route family.
const (
	vResources     = "2021-04-01"
	vSubscriptions = "2022-12-01"
	vIdentity      = "2023-01-31"
	vAuthorization = "2022-04-01"
	vKeyless       = "2025-01-01"
	vActivityLog   = "2015-04-01"
	vGeneric       = "2021-04-01"
)

// client makes ARM requests as the session's principal.
type client struct {
	p      *Portal
	ctx    context.Context
	caller arm.Caller
}

// armError is the front door's refusal, shown to the user as ARM wrote it.
type armError struct {
	Status  int
	Code    string
	Message string
}

func (e *armError) Error() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// do sends one request; out, when not nil, receives the JSON answer.
func (c *client) do(method, path, apiVersion string, in, out any) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, err
		}
	}
	status, resp, err := c.p.cfg.ARM.Do(c.ctx, c.caller, method, path, apiVersion, body)
	if err != nil {
		return status, err
	}
	if status >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(resp, &e)
		if e.Error.Message == "" {
			e.Error.Message = fmt.Sprintf("The server answered %d %s.", status, http.StatusText(status))
		}
		return status, &armError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil && len(resp) > 0 {
		if err := json.Unmarshal(resp, out); err != nil {
			return status, fmt.Errorf("decoding %s %s: %w", method, path, err)
		}
	}
	return status, nil
}

func (c *client) get(path, apiVersion string, out any) error {
	_, err := c.do(http.MethodGet, path, apiVersion, nil, out)
	return err
}

// list reads every page of an ARM list.
func list[T any](c *client, path, apiVersion string) ([]T, error) {
	var all []T
	for pages := 0; path != "" && pages < 50; pages++ {
		var pg struct {
			Value    []T    `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if err := c.get(path, apiVersion, &pg); err != nil {
			return nil, err
		}
		all = append(all, pg.Value...)
		path = ""
		if pg.NextLink != "" {
			u, err := url.Parse(pg.NextLink)
			if err != nil {
				return nil, err
			}
			path = u.EscapedPath() + "?" + u.RawQuery
		}
	}
	return all, nil
}

// can asks the RBAC engine whether the principal holds action at scope.
func (c *client) can(action, scope string) bool {
	return c.p.cfg.Allowed != nil && c.p.cfg.Allowed(c.caller.ObjectID, action, scope)
}

// Wire shapes, only the members the pages show.
type subscription struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscriptionId"`
	DisplayName    string `json:"displayName"`
	State          string `json:"state"`
}

type resourceGroup struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Location string            `json:"location"`
	Tags     map[string]string `json:"tags"`
}

type identityBlock struct {
	Type                   string                      `json:"type"`
	PrincipalID            string                      `json:"principalId"`
	TenantID               string                      `json:"tenantId"`
	UserAssignedIdentities map[string]*userAssignedRef `json:"userAssignedIdentities"`
}

type userAssignedRef struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

type resource struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Identity   *identityBlock    `json:"identity"`
	Properties json.RawMessage   `json:"properties"`
}

func (r resource) systemAssigned() bool {
	return r.Identity != nil && strings.Contains(strings.ToLower(r.Identity.Type), "systemassigned")
}

type uamiProperties struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
	TenantID    string `json:"tenantId"`
}

type uami struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Location   string         `json:"location"`
	Properties uamiProperties `json:"properties"`
}

type roleDefinition struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleName    string `json:"roleName"`
		Type        string `json:"type"`
		Description string `json:"description"`
		Permissions []struct {
			Actions        []string `json:"actions"`
			NotActions     []string `json:"notActions"`
			DataActions    []string `json:"dataActions"`
			NotDataActions []string `json:"notDataActions"`
		} `json:"permissions"`
	} `json:"properties"`
}

type roleAssignment struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Scope            string `json:"scope"`
	} `json:"properties"`
}

type federatedCredential struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		Issuer    string   `json:"issuer"`
		Subject   string   `json:"subject"`
		Audiences []string `json:"audiences"`
	} `json:"properties"`
}

type principalInfo struct {
	ObjectID      string `json:"objectId"`
	AppID         string `json:"appId"`
	DisplayName   string `json:"displayName"`
	PrincipalType string `json:"principalType"`
	Kind          string `json:"kind"`
	ResourceID    string `json:"resourceId"`
}

// Paths.
func resourceGroupsPath(sub string) string { return "/subscriptions/" + sub + "/resourcegroups" }

func roleAssignmentsPath(scope string) string {
	return strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments"
}

func roleDefinitionsPath(scope string) string {
	return strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleDefinitions"
}

func withQuery(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return path + "?" + q.Encode()
}
