package arm_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/arm"
)

// TestEveryRouteIsAuthorized walks Routes(): every sample request reaches
// the route that declares it, is refused without a token, and, for routes
// that check access, is refused to a caller without roles with the exact
// action and scope the route declares. This is the seed of the
// authorization matrix.
func TestEveryRouteIsAuthorized(t *testing.T) {
	var last arm.RequestRecord
	e := newEnv(t, func(c *arm.Config) {
		c.OnRequest = func(_ context.Context, r arm.RequestRecord) { last = r }
	})
	routes := e.server.Routes()
	if len(routes) < 30 {
		t.Fatalf("only %d routes", len(routes))
	}
	for _, info := range routes {
		for _, method := range info.Methods {
			t.Run(info.Name+"_"+method, func(t *testing.T) {
				path := info.SamplePath + "?api-version=" + info.SampleAPIVersion
				body := ""
				if method == http.MethodPut || method == http.MethodPatch {
					body = "{}"
				}
				if resp, _ := e.do(method, path, "", body); resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("without a token: %d", resp.StatusCode)
				}
				resp, text := e.do(method, path, userToken, body)
				if last.Route != info.Name {
					t.Fatalf("sample %s %s served by %q, not %q", method, info.SamplePath, last.Route, info.Name)
				}
				switch info.Access {
				case arm.AccessCheck:
					if info.SampleAction == "" || info.SampleScope == "" {
						t.Fatalf("no sample action/scope: %+v", info)
					}
					want := "does not have authorization to perform action '" + info.SampleAction + "' over scope '" + info.SampleScope + "'"
					if resp.StatusCode != http.StatusForbidden || (method != http.MethodHead && !strings.Contains(text, want)) {
						t.Errorf("got %d %s, want 403 containing %q", resp.StatusCode, text, want)
					}
				default:
					if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
						t.Errorf("%s route refused an authenticated caller: %d %s", info.Access, resp.StatusCode, text)
					}
				}
			})
		}
	}
}

// TestHandleRegistersRoutesOnTheSameFrontDoor registers a route the way the
// RBAC package will and checks it gets authentication, api-version,
// authorization, precedence over the generic fallback and error mapping.
func TestHandleRegistersRoutesOnTheSameFrontDoor(t *testing.T) {
	e := newEnv(t)
	var gotScope, gotName string
	e.server.Handle(arm.Route{
		Name:        "RoleAssignments_Create",
		Methods:     []string{http.MethodPut},
		Pattern:     "/{scope...}/providers/Microsoft.Authorization/roleAssignments/{roleAssignmentName}",
		APIVersions: arm.VersionPolicy{Versions: []string{"2022-04-01"}},
		Action:      "Microsoft.Authorization/roleAssignments/write",
		Scope:       "/{scope...}",
		Handler: func(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
			var body struct {
				Properties struct{ PrincipalID string } `json:"properties"`
			}
			if err := c.DecodeJSON(r, &body); err != nil {
				return err
			}
			gotScope, gotName = c.Params["scope"], c.Params["roleAssignmentName"]
			if body.Properties.PrincipalID == "" {
				return arm.Errorf(http.StatusBadRequest, "PrincipalNotFound", "properties.principalId", "Principal %s does not exist in the directory.", "''")
			}
			arm.WriteJSON(w, http.StatusCreated, map[string]string{"id": c.Path()})
			return nil
		},
	})
	e.group("rg1")
	path := "/subscriptions/" + subscriptionID + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1/providers/Microsoft.Authorization/roleAssignments/ra1"

	resp, body := e.do("PUT", path+"?api-version=2022-04-01", adminToken, `{"properties":{"principalId":"p"}}`)
	if resp.StatusCode != http.StatusCreated || gotName != "ra1" || gotScope != strings.TrimPrefix(path[:strings.Index(path, "/providers/Microsoft.Authorization")], "/") {
		t.Errorf("admin: %d %s scope %q name %q", resp.StatusCode, body, gotScope, gotName)
	}
	resp, body = e.do("PUT", path+"?api-version=2022-04-01", adminToken, `{"properties":{}}`)
	if got := decodeError(t, body); resp.StatusCode != 400 || got.Error.Code != "PrincipalNotFound" || *got.Error.Target != "properties.principalId" {
		t.Errorf("handler error: %d %s", resp.StatusCode, body)
	}
	resp, _ = e.do("PUT", path+"?api-version=2025-04-01", adminToken, `{}`)
	if resp.StatusCode != 400 {
		t.Errorf("wrong api-version: %d", resp.StatusCode)
	}
	resp, body = e.do("PUT", path+"?api-version=2022-04-01", userToken, `{}`)
	if resp.StatusCode != 403 || !strings.Contains(body, "'Microsoft.Authorization/roleAssignments/write' over scope '/subscriptions/"+subscriptionID+"/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1'") {
		t.Errorf("alice: %d %s", resp.StatusCode, body)
	}
	// Root scope: the catch-all may be empty.
	resp, _ = e.do("PUT", "/providers/Microsoft.Authorization/roleAssignments/ra2?api-version=2022-04-01", adminToken, `{"properties":{"principalId":"p"}}`)
	if resp.StatusCode != http.StatusCreated || gotScope != "" {
		t.Errorf("root scope: %d %q", resp.StatusCode, gotScope)
	}

	defer func() {
		if recover() == nil {
			t.Error("registering the same method and pattern twice must panic")
		}
	}()
	e.server.Handle(arm.Route{Name: "Dup", Methods: []string{http.MethodPut}, Pattern: "/{scope...}/providers/microsoft.authorization/roleassignments/{x}",
		Action: "a", Scope: "/", Handler: func(http.ResponseWriter, *http.Request, *arm.Call) error { return nil }})
}
