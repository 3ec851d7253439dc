package portal

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/review"
)

// fixRequest is one ARM request of a finding's fix, with the action the
// front door will check, so the portal offers only fixes it would allow.
type fixRequest struct {
	Method, Path, APIVersion string
	Body                     any
	// Prepare computes the body just before sending (a PATCH that needs
	// the resource as it is now).
	Prepare       func() (any, error)
	Action, Scope string
}

// fixRequests translates a finding's fix (a keyless command line) into
// the requests that command makes, so applying it in the portal changes
// exactly what `keyless review apply` would, through the same routes.
func fixRequests(c *client, f review.Finding) ([]fixRequest, error) {
	if f.Fix == "" {
		return nil, errors.New("this finding has no fix to apply")
	}
	var out []fixRequest
	for _, line := range strings.Split(f.Fix, " && ") {
		rs, err := fixLine(c, f, strings.Fields(line))
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

func flagsOf(args []string) map[string]string {
	m := map[string]string{}
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") && i+1 < len(args) {
			m[strings.TrimLeft(args[i], "-")] = args[i+1]
			i++
		}
	}
	return m
}

// subscriptionOf is the subscription a finding is about.
func subscriptionOf(f review.Finding) string {
	for _, id := range append([]string{f.Scope}, f.ResourceIDs...) {
		if ref, ok := parseScope(id); ok {
			return ref.Subscription
		}
	}
	return ""
}

func fixLine(c *client, f review.Finding, args []string) ([]fixRequest, error) {
	if len(args) < 3 || args[0] != "keyless" {
		return nil, fmt.Errorf("the fix %q is not a keyless command", strings.Join(args, " "))
	}
	cmd := strings.Join(args[1:min(len(args), 4)], " ")
	fl := flagsOf(args)
	switch {
	case strings.HasPrefix(cmd, "role assignment delete"):
		id := fl["ids"]
		return []fixRequest{{Method: http.MethodDelete, Path: id, APIVersion: vAuthorization,
			Action: actAssignDelete, Scope: scopeOfAssignment(id)}}, nil
	case strings.HasPrefix(cmd, "role assignment create"):
		scope, role := fl["scope"], fl["role"]
		if !strings.HasPrefix(role, "/") {
			role = roleDefinitionsPath(scope) + "/" + role
		}
		ptype := fl["assignee-principal-type"]
		if ptype == "" {
			ptype = "ServicePrincipal"
		}
		body := map[string]any{"properties": map[string]any{"roleDefinitionId": role, "principalId": fl["assignee-object-id"], "principalType": ptype}}
		return []fixRequest{{Method: http.MethodPut, Path: roleAssignmentsPath(scope) + "/" + uuid.NewString(), APIVersion: vAuthorization,
			Body: body, Action: actAssignWrite, Scope: scope}}, nil
	case strings.HasPrefix(cmd, "identity delete"):
		id := "/subscriptions/" + subscriptionOf(f) + "/resourceGroups/" + fl["g"] + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + fl["n"]
		return []fixRequest{{Method: http.MethodDelete, Path: id, APIVersion: vIdentity, Action: actIdentityDelete, Scope: id}}, nil
	case strings.HasPrefix(cmd, "identity federated-credential delete"):
		id := "/subscriptions/" + subscriptionOf(f) + "/resourceGroups/" + fl["g"] + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + fl["identity-name"] +
			"/federatedIdentityCredentials/" + fl["n"]
		return []fixRequest{{Method: http.MethodDelete, Path: id, APIVersion: vIdentity, Action: actFICDelete, Scope: id}}, nil
	case strings.HasPrefix(cmd, "resource identity remove") && fl["identities"] == "[system]":
		id := fl["ids"]
		ref, ok := parseScope(id)
		if !ok || ref.ResourceType == "" {
			return nil, fmt.Errorf("the fix names no resource: %s", id)
		}
		prepare := func() (any, error) {
			var r resource
			if err := c.get(id, vGeneric, &r); err != nil {
				return nil, err
			}
			return map[string]any{"identity": map[string]any{"type": resources.IdentityType(false, len(userIDs(r)) > 0)}}, nil
		}
		return []fixRequest{{Method: http.MethodPatch, Path: id, APIVersion: vGeneric, Prepare: prepare,
			Action: ref.ResourceType + "/write", Scope: id}}, nil
	case strings.HasPrefix(cmd, "sp delete"):
		return []fixRequest{{Method: http.MethodDelete, Path: "/providers/Keyless.Directory/servicePrincipals/" + fl["id"], APIVersion: vKeyless,
			Action: actSPDelete, Scope: "/"}}, nil
	}
	return nil, fmt.Errorf("the portal does not apply this fix (it returns a new secret); run: %s", strings.Join(args, " "))
}
