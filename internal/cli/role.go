package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/rbacapi"
)

func init() { register(addRole) }

var roleGUIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isRoleGUID(s string) bool { return roleGUIDPattern.MatchString(s) }

// roleDefinitionView is a role definition as az prints it: the REST properties
// flattened, roleType for the JSON "type" property.
type roleDefinitionView struct {
	AssignableScopes []*string                      `json:"assignableScopes"`
	Description      *string                        `json:"description"`
	ID               string                         `json:"id"`
	Name             string                         `json:"name"`
	Permissions      []*armauthorization.Permission `json:"permissions"`
	RoleName         string                         `json:"roleName"`
	RoleType         string                         `json:"roleType"`
	Type             string                         `json:"type"`
}

func roleDefinitionOf(d *armauthorization.RoleDefinition) roleDefinitionView {
	v := roleDefinitionView{ID: roleStr(d.ID), Name: roleStr(d.Name), Type: roleStr(d.Type)}
	if p := d.Properties; p != nil {
		v.AssignableScopes, v.Description, v.Permissions = p.AssignableScopes, p.Description, p.Permissions
		v.RoleName, v.RoleType = roleStr(p.RoleName), roleStr(p.RoleType)
	}
	return v
}

// roleAssignmentView is a role assignment as az prints it, with the role's
// name added.
type roleAssignmentView struct {
	Condition          *string    `json:"condition"`
	ConditionVersion   *string    `json:"conditionVersion"`
	CreatedBy          *string    `json:"createdBy"`
	CreatedOn          *time.Time `json:"createdOn"`
	Description        *string    `json:"description"`
	ID                 string     `json:"id"`
	Name               string     `json:"name"`
	PrincipalID        string     `json:"principalId"`
	PrincipalType      string     `json:"principalType"`
	RoleDefinitionID   string     `json:"roleDefinitionId"`
	RoleDefinitionName string     `json:"roleDefinitionName,omitempty"`
	Scope              string     `json:"scope"`
	Type               string     `json:"type"`
	UpdatedBy          *string    `json:"updatedBy"`
	UpdatedOn          *time.Time `json:"updatedOn"`
}

func roleAssignmentOf(a *armauthorization.RoleAssignment, roleNames map[string]string) roleAssignmentView {
	v := roleAssignmentView{ID: roleStr(a.ID), Name: roleStr(a.Name), Type: roleStr(a.Type)}
	if p := a.Properties; p != nil {
		v.Condition, v.ConditionVersion, v.Description = p.Condition, p.ConditionVersion, p.Description
		v.CreatedBy, v.CreatedOn, v.UpdatedBy, v.UpdatedOn = p.CreatedBy, p.CreatedOn, p.UpdatedBy, p.UpdatedOn
		v.PrincipalID, v.RoleDefinitionID, v.Scope = roleStr(p.PrincipalID), roleStr(p.RoleDefinitionID), roleStr(p.Scope)
		if p.PrincipalType != nil {
			v.PrincipalType = string(*p.PrincipalType)
		}
		v.RoleDefinitionName = roleNames[strings.ToLower(roleIDTail(v.RoleDefinitionID))]
	}
	return v
}

func roleStr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func roleIDTail(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		return id[i+1:]
	}
	return id
}

// roleAssignmentTable is az's transform for role assignment lists.
func roleAssignmentTable(doc any) any {
	items, _ := doc.([]any)
	rows := make([]any, 0, len(items))
	for _, a := range items {
		role := member(a, "roleDefinitionName")
		if role == "" {
			role = roleIDTail(fmt.Sprint(member(a, "roleDefinitionId")))
		}
		rows = append(rows, tableRow("Principal", member(a, "principalId"), "Role", role, "Scope", member(a, "scope")))
	}
	return rows
}

// roleDefinitionTable is az's transform for role definition lists.
func roleDefinitionTable(doc any) any {
	items, _ := doc.([]any)
	rows := make([]any, 0, len(items))
	for _, d := range items {
		rows = append(rows, tableRow("Name", member(d, "roleName"), "Type", member(d, "roleType"), "Description", member(d, "description")))
	}
	return rows
}

// rbacClients bundles a connection with its armauthorization clients.
type rbacClients struct {
	conn        *Connection
	sub         string
	definitions *armauthorization.RoleDefinitionsClient
	assignments *armauthorization.RoleAssignmentsClient
}

func connectRBAC(cmd *cobra.Command) (*rbacClients, error) {
	conn, err := Connect(cmd)
	if err != nil {
		return nil, err
	}
	sub := conn.SubscriptionID(cmd)
	defs, err := armauthorization.NewRoleDefinitionsClient(conn.Credential, conn.Options)
	if err != nil {
		return nil, err
	}
	ras, err := armauthorization.NewRoleAssignmentsClient(sub, conn.Credential, conn.Options)
	if err != nil {
		return nil, err
	}
	return &rbacClients{conn: conn, sub: sub, definitions: defs, assignments: ras}, nil
}

// roleScopeFlags are --scope and -g/--resource-group, as az has them.
type roleScopeFlags struct {
	scope, group string
}

func (f *roleScopeFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.scope, "scope", "", what+" (default: the subscription)")
	cmd.Flags().StringVarP(&f.group, "resource-group", "g", "", "resource group, as a shorthand for --scope /subscriptions/{sub}/resourceGroups/{group}")
}

// resolve returns the scope the flags name: --scope, else the group, else
// the subscription.
func (f *roleScopeFlags) resolve(sub string) (string, error) {
	switch {
	case f.scope != "" && f.group != "":
		return "", errors.New("give --scope or --resource-group, not both")
	case f.scope != "":
		return "/" + strings.Trim(f.scope, "/"), nil
	case f.group != "":
		return "/subscriptions/" + sub + "/resourceGroups/" + f.group, nil
	case sub == "":
		return "", errors.New("no subscription: give --scope, or --subscription")
	}
	return "/subscriptions/" + sub, nil
}

// roleAssignmentFilter pre-encodes a role-assignment $filter: armauthorization
// appends it to the URL unencoded, which a server cannot read as a request
// line (reference §1.9).
func roleAssignmentFilter(f string) *string { return to.Ptr(url.QueryEscape(f)) }

// findRole resolves --role / --name: a GUID, a full role definition ID, or
// a role name looked up at scope.
func (c *rbacClients) findRole(ctx context.Context, role, scope string) (*armauthorization.RoleDefinition, error) {
	switch {
	case isRoleGUID(role):
		r, err := c.definitions.Get(ctx, scope, role, nil)
		if err != nil {
			return nil, err
		}
		return &r.RoleDefinition, nil
	case strings.Contains(strings.ToLower(role), "/providers/microsoft.authorization/roledefinitions/"):
		r, err := c.definitions.GetByID(ctx, role, nil)
		if err != nil {
			return nil, err
		}
		return &r.RoleDefinition, nil
	}
	found, err := c.listDefinitions(ctx, scope, "roleName eq "+odataString(role))
	if err != nil {
		return nil, err
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("role '%s' does not exist at scope %s", role, scope)
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("more than one role is named '%s'; give its ID", role)
}

func (c *rbacClients) listDefinitions(ctx context.Context, scope, filter string) ([]*armauthorization.RoleDefinition, error) {
	var opts *armauthorization.RoleDefinitionsClientListOptions
	if filter != "" {
		opts = &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr(filter)}
	}
	var out []*armauthorization.RoleDefinition
	for p := c.definitions.NewListPager(scope, opts); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
	}
	return out, nil
}

// roleNames maps role GUIDs to names at scope, for output; empty when the
// caller may not read role definitions there.
func (c *rbacClients) roleNames(ctx context.Context, scope string) map[string]string {
	names := map[string]string{}
	defs, err := c.listDefinitions(ctx, scope, "")
	if err != nil {
		return names
	}
	for _, d := range defs {
		if d.Name != nil && d.Properties != nil {
			names[strings.ToLower(*d.Name)] = roleStr(d.Properties.RoleName)
		}
	}
	return names
}

// roleAssignee is a principal resolved for a role assignment.
type roleAssignee struct {
	objectID, principalType string
}

// findPrincipal resolves --assignee like az does through Microsoft Graph:
// an object ID, an application ID, a display name or a managed identity's
// resource ID, through the directory lookup (which needs directory read
// access). A caller without it may still pass an object ID: it is used as
// it is and the server checks that it exists.
func (c *rbacClients) findPrincipal(ctx context.Context, assignee string) (roleAssignee, error) {
	var res struct {
		Value []rbacapi.PrincipalInfo `json:"value"`
	}
	err := rbacGet(ctx, c.conn, "/providers/Keyless.Directory/principals", rbacapi.APIVersion, url.Values{"assignee": {assignee}}, &res)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusForbidden && isRoleGUID(assignee) {
		return roleAssignee{objectID: assignee}, nil
	}
	if err != nil {
		return roleAssignee{}, fmt.Errorf("cannot look up '%s' in the directory (use --assignee-object-id to skip the lookup): %w", assignee, err)
	}
	switch len(res.Value) {
	case 0:
		return roleAssignee{}, fmt.Errorf("no principal matches '%s' (an object ID, application ID, display name or managed identity resource ID)", assignee)
	case 1:
		return roleAssignee{objectID: res.Value[0].ObjectID, principalType: res.Value[0].PrincipalType}, nil
	}
	var ids []string
	for _, p := range res.Value {
		ids = append(ids, p.ObjectID+" ("+p.Kind+")")
	}
	return roleAssignee{}, fmt.Errorf("'%s' matches %d principals: %s; use --assignee-object-id", assignee, len(res.Value), strings.Join(ids, ", "))
}

// rbacGet is a GET of a keyless-specific route with extra query parameters.
func rbacGet(ctx context.Context, c *Connection, path, apiVersion string, query url.Values, out any) error {
	client, err := arm.NewClient("keyless-cli", cliVersion, c.Credential, c.Options)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := runtime.NewRequest(ctx, http.MethodGet, runtime.JoinPaths(client.Endpoint(), path))
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		return err
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return runtime.NewResponseError(resp)
	}
	return runtime.UnmarshalAsJSON(resp, out)
}

func addRole(root *cobra.Command) {
	role := &cobra.Command{Use: "role", Short: "Manage role definitions and role assignments (Azure RBAC)"}
	role.AddCommand(roleDefinitionCommand(), roleAssignmentCommand(), roleCheckCommand(), rolePermissionCommand())
	root.AddCommand(role)
}

func roleDefinitionCommand() *cobra.Command {
	def := &cobra.Command{Use: "definition", Short: "Manage role definitions: the built-in roles and custom ones"}

	var (
		name       string
		customOnly bool
		scope      roleScopeFlags
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List role definitions visible at a scope",
		Example: `  keyless role definition list -o table --query "[].{name:roleName, id:name, type:roleType}"
  keyless role definition list --name Reader
  keyless role definition list --custom-role-only --scope /subscriptions/$SUB`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			at, err := scope.resolve(c.sub)
			if err != nil {
				return err
			}
			var found []*armauthorization.RoleDefinition
			if name != "" && (isRoleGUID(name) || strings.Contains(name, "/")) {
				d, err := c.findRole(cmd.Context(), name, at)
				if err != nil {
					return err
				}
				found = []*armauthorization.RoleDefinition{d}
			} else {
				var conds []string
				if name != "" {
					conds = append(conds, "roleName eq "+odataString(name))
				}
				if customOnly {
					conds = append(conds, "type eq 'CustomRole'")
				}
				if found, err = c.listDefinitions(cmd.Context(), at, strings.Join(conds, " and ")); err != nil {
					return err
				}
			}
			out := []roleDefinitionView{}
			for _, d := range found {
				if d.Properties != nil && (!customOnly || roleStr(d.Properties.RoleType) == "CustomRole") {
					out = append(out, roleDefinitionOf(d))
				}
			}
			return printResult(cmd, out, printShape{table: roleDefinitionTable})
		},
	}
	list.Flags().StringVarP(&name, "name", "n", "", "role name or ID")
	list.Flags().BoolVar(&customOnly, "custom-role-only", false, "custom roles only")
	scope.add(list, "scope to list at")

	var showName string
	var showScope roleScopeFlags
	show := &cobra.Command{
		Use: "show", Short: "Show one role definition by name or ID", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			at, err := showScope.resolve(c.sub)
			if err != nil {
				return err
			}
			d, err := c.findRole(cmd.Context(), showName, at)
			if err != nil {
				return err
			}
			return printResult(cmd, roleDefinitionOf(d), printShape{})
		},
	}
	show.Flags().StringVarP(&showName, "name", "n", "", "role name or ID")
	_ = show.MarkFlagRequired("name")
	showScope.add(show, "scope to look at")

	var createDef string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a custom role",
		Long: `Create a custom role from a JSON document, given inline or as a file (a path,
or @path). The az fields are accepted (Name, Description, Actions, NotActions,
DataActions, NotDataActions, AssignableScopes), and so is the REST shape
(roleName, permissions, assignableScopes). The role is created at its first
assignable scope; you need Microsoft.Authorization/roleDefinitions/write at
every assignable scope, and may only put permissions in it that you hold
there yourself.`,
		Example: `  keyless role definition create --role-definition '{
    "Name": "VM Restarter", "Description": "Restart virtual machines",
    "Actions": ["Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/restart/action"],
    "AssignableScopes": ["/subscriptions/'$SUB'"]}'
  keyless role definition create --role-definition @restarter.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := parseRoleDefinitionInput(createDef)
			if err != nil {
				return err
			}
			if in.roleName == "" || in.permissions == nil || len(in.assignableScopes) == 0 {
				return errors.New("--role-definition needs a name, actions (or permissions) and assignable scopes")
			}
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			id := in.id
			if id == "" {
				id = uuid.NewString()
			}
			def := armauthorization.RoleDefinition{Properties: &armauthorization.RoleDefinitionProperties{
				RoleName: to.Ptr(in.roleName), Description: in.description, RoleType: to.Ptr("CustomRole"),
				Permissions: in.permissions, AssignableScopes: in.assignableScopes,
			}}
			res, err := c.definitions.CreateOrUpdate(cmd.Context(), *in.assignableScopes[0], id, def, nil)
			if err != nil {
				return err
			}
			return printResult(cmd, roleDefinitionOf(&res.RoleDefinition), printShape{})
		},
	}
	create.Flags().StringVar(&createDef, "role-definition", "", "JSON description of the role, inline or a file (path or @path)")
	_ = create.MarkFlagRequired("role-definition")

	var updateDef string
	var updateScope roleScopeFlags
	update := &cobra.Command{
		Use:   "update",
		Short: "Update a custom role",
		Long: `Update a custom role from a JSON document in the format of create, or the output
of 'keyless role definition show'. The role is found by its ID ("name" as a
GUID, or "id") or else by its name; fields the document leaves out keep their
value.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			in, err := parseRoleDefinitionInput(updateDef)
			if err != nil {
				return err
			}
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			at, err := updateScope.resolve(c.sub)
			if err != nil {
				return err
			}
			if len(in.assignableScopes) > 0 && updateScope.scope == "" && updateScope.group == "" {
				at = *in.assignableScopes[0]
			}
			ref := in.id
			if ref == "" {
				ref = in.roleName
			}
			if ref == "" {
				return errors.New("--role-definition must name the role to update (its ID as \"name\" or \"id\", or its name)")
			}
			old, err := c.findRole(cmd.Context(), ref, at)
			if err != nil {
				return err
			}
			p := *old.Properties
			if in.roleName != "" {
				p.RoleName = to.Ptr(in.roleName)
			}
			if in.description != nil {
				p.Description = in.description
			}
			if in.permissions != nil {
				p.Permissions = in.permissions
			}
			if in.assignableScopes != nil {
				p.AssignableScopes = in.assignableScopes
			}
			if len(p.AssignableScopes) == 0 {
				return errors.New("the role has no assignable scopes")
			}
			res, err := c.definitions.CreateOrUpdate(cmd.Context(), *p.AssignableScopes[0], *old.Name, armauthorization.RoleDefinition{Properties: &p}, nil)
			if err != nil {
				return err
			}
			return printResult(cmd, roleDefinitionOf(&res.RoleDefinition), printShape{})
		},
	}
	update.Flags().StringVar(&updateDef, "role-definition", "", "JSON description of the role, inline or a file (path or @path)")
	_ = update.MarkFlagRequired("role-definition")
	updateScope.add(update, "scope to find the role at")

	var deleteName string
	var deleteScope roleScopeFlags
	del := &cobra.Command{
		Use: "delete", Short: "Delete a custom role (refused while it is assigned)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			at, err := deleteScope.resolve(c.sub)
			if err != nil {
				return err
			}
			d, err := c.findRole(cmd.Context(), deleteName, at)
			if err != nil {
				return err
			}
			if d.Properties != nil && len(d.Properties.AssignableScopes) > 0 {
				at = *d.Properties.AssignableScopes[0]
			}
			_, err = c.definitions.Delete(cmd.Context(), at, *d.Name, nil)
			return err
		},
	}
	del.Flags().StringVarP(&deleteName, "name", "n", "", "role name or ID")
	_ = del.MarkFlagRequired("name")
	deleteScope.add(del, "scope to find the role at")

	def.AddCommand(list, show, create, update, del)
	return def
}

// roleDefinitionInput is a --role-definition document, in az's shape or
// the REST shape.
type roleDefinitionInput struct {
	id               string
	roleName         string
	description      *string
	permissions      []*armauthorization.Permission
	assignableScopes []*string
}

// roleDefinitionDoc is decoded case-insensitively (encoding/json matches
// field names that way), which covers az's PascalCase and REST's camelCase.
type roleDefinitionDoc struct {
	ID               string              `json:"id"`
	Name             string              `json:"name"`
	RoleName         string              `json:"roleName"`
	Description      *string             `json:"description"`
	Actions          *[]string           `json:"actions"`
	NotActions       *[]string           `json:"notActions"`
	DataActions      *[]string           `json:"dataActions"`
	NotDataActions   *[]string           `json:"notDataActions"`
	Permissions      []rolePermissionDoc `json:"permissions"`
	AssignableScopes []string            `json:"assignableScopes"`
	Properties       *roleDefinitionDoc  `json:"properties"`
}

type rolePermissionDoc struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func parseRoleDefinitionInput(arg string) (roleDefinitionInput, error) {
	raw := strings.TrimSpace(arg)
	if path, ok := strings.CutPrefix(raw, "@"); ok || !strings.HasPrefix(raw, "{") {
		if !ok {
			path = raw
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return roleDefinitionInput{}, fmt.Errorf("--role-definition is neither a JSON object nor a readable file: %w", err)
		}
		raw = string(b)
	}
	var doc roleDefinitionDoc
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		return roleDefinitionInput{}, fmt.Errorf("--role-definition: %w", err)
	}
	if p := doc.Properties; p != nil {
		// The REST shape: identity outside, everything else in properties.
		p.ID, p.Name = doc.ID, doc.Name
		doc = *p
	}
	var in roleDefinitionInput
	switch {
	case isRoleGUID(doc.Name):
		in.id = doc.Name
	case doc.ID != "":
		in.id = roleIDTail(doc.ID)
	}
	in.roleName = doc.RoleName
	if in.roleName == "" && !isRoleGUID(doc.Name) {
		in.roleName = doc.Name
	}
	in.description = doc.Description
	ptrs := func(ss []string) []*string {
		out := make([]*string, 0, len(ss))
		for _, s := range ss {
			out = append(out, to.Ptr(s))
		}
		return out
	}
	for _, p := range doc.Permissions {
		in.permissions = append(in.permissions, &armauthorization.Permission{
			Actions: ptrs(p.Actions), NotActions: ptrs(p.NotActions), DataActions: ptrs(p.DataActions), NotDataActions: ptrs(p.NotDataActions),
		})
	}
	if doc.Actions != nil || doc.NotActions != nil || doc.DataActions != nil || doc.NotDataActions != nil {
		if in.permissions != nil {
			return in, errors.New("--role-definition: give either permissions or Actions/NotActions/DataActions/NotDataActions, not both")
		}
		block := &armauthorization.Permission{}
		for _, l := range []struct {
			src *[]string
			dst *[]*string
		}{{doc.Actions, &block.Actions}, {doc.NotActions, &block.NotActions}, {doc.DataActions, &block.DataActions}, {doc.NotDataActions, &block.NotDataActions}} {
			if l.src != nil {
				*l.dst = ptrs(*l.src)
			} else {
				*l.dst = []*string{}
			}
		}
		in.permissions = []*armauthorization.Permission{block}
	}
	if doc.AssignableScopes != nil {
		in.assignableScopes = ptrs(doc.AssignableScopes)
	}
	return in, nil
}

func roleAssignmentCommand() *cobra.Command {
	asg := &cobra.Command{Use: "assignment", Short: "Manage role assignments: who holds which role where"}

	var (
		assignee, assigneeObjectID, assigneeType, roleRef, description, name string
		scope                                                                roleScopeFlags
	)
	create := &cobra.Command{
		Use:   "create",
		Short: "Grant a role to a principal at a scope",
		Long: `Grant a role to a principal at a scope (default: the subscription).

--assignee is an object ID, an application ID, a display name or a managed
identity's resource ID, looked up in the directory (which needs read access
at "/"); --assignee-object-id skips the lookup. --role is a role name, its
GUID or its full ID. You need Microsoft.Authorization/roleAssignments/write
at the scope and may only grant a role whose permissions you hold there.`,
		Example: `  keyless role assignment create --assignee $APP_ID --role Reader -g rg-app
  keyless role assignment create --assignee-object-id $PRINCIPAL_ID --assignee-principal-type ServicePrincipal \
      --role "Storage Blob Data Reader" --scope $STORAGE_ACCOUNT_ID`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (assignee == "") == (assigneeObjectID == "") {
				return errors.New("give exactly one of --assignee and --assignee-object-id")
			}
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			at, err := scope.resolve(c.sub)
			if err != nil {
				return err
			}
			p := roleAssignee{objectID: assigneeObjectID, principalType: assigneeType}
			if assignee != "" {
				if p, err = c.findPrincipal(ctx, assignee); err != nil {
					return err
				}
			}
			r, err := c.findRole(ctx, roleRef, at)
			if err != nil {
				return err
			}
			if name == "" {
				name = uuid.NewString()
			}
			props := &armauthorization.RoleAssignmentProperties{PrincipalID: to.Ptr(p.objectID), RoleDefinitionID: r.ID}
			if p.principalType != "" {
				props.PrincipalType = to.Ptr(armauthorization.PrincipalType(p.principalType))
			}
			if description != "" {
				props.Description = to.Ptr(description)
			}
			res, err := c.assignments.Create(ctx, at, name, armauthorization.RoleAssignmentCreateParameters{Properties: props}, nil)
			if err != nil {
				return err
			}
			return printResult(cmd, roleAssignmentOf(&res.RoleAssignment, map[string]string{strings.ToLower(*r.Name): roleStr(r.Properties.RoleName)}), printShape{})
		},
	}
	create.Flags().StringVar(&assignee, "assignee", "", "object ID, application ID, display name or managed identity resource ID")
	create.Flags().StringVar(&assigneeObjectID, "assignee-object-id", "", "object ID of the principal (no directory lookup)")
	create.Flags().StringVar(&assigneeType, "assignee-principal-type", "", "User, Group or ServicePrincipal (with --assignee-object-id; checked by the server)")
	create.Flags().StringVar(&roleRef, "role", "", "role name, GUID or full ID")
	create.Flags().StringVar(&description, "description", "", "description of the assignment")
	create.Flags().StringVar(&name, "name", "", "GUID to give the assignment (default: a new one)")
	_ = create.MarkFlagRequired("role")
	scope.add(create, "scope to grant at")

	var (
		listAssignee, listRole string
		all, inherited, groups bool
		listScope              roleScopeFlags
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List role assignments",
		Long: `List the role assignments at a scope (default: the subscription). --all adds
those below it, --include-inherited those above it; --assignee keeps one
principal's, with --include-groups also those of its groups.`,
		Example: `  keyless role assignment list --all -o table
  keyless role assignment list --assignee $APP_ID --all --include-inherited`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			at, err := listScope.resolve(c.sub)
			if err != nil {
				return err
			}
			found, err := c.findAssignments(ctx, at, listAssignee, listRole, all, inherited, groups)
			if err != nil {
				return err
			}
			names := c.roleNames(ctx, at)
			out := []roleAssignmentView{}
			for _, a := range found {
				out = append(out, roleAssignmentOf(a, names))
			}
			return printResult(cmd, out, printShape{table: roleAssignmentTable})
		},
	}
	list.Flags().StringVar(&listAssignee, "assignee", "", "only this principal's assignments (object ID, application ID, display name or identity resource ID)")
	list.Flags().StringVar(&listRole, "role", "", "only assignments of this role (name, GUID or ID)")
	list.Flags().BoolVar(&all, "all", false, "include assignments below the scope")
	list.Flags().BoolVar(&inherited, "include-inherited", false, "include assignments above the scope")
	list.Flags().BoolVar(&groups, "include-groups", false, "with --assignee, include the assignments of its groups")
	listScope.add(list, "scope to list at")

	var (
		ids                  []string
		delAssignee, delRole string
		delAll               bool
		delScope             roleScopeFlags
	)
	del := &cobra.Command{
		Use:   "delete",
		Short: "Delete role assignments, by ID or by assignee, role and scope",
		Example: `  keyless role assignment delete --ids $ASSIGNMENT_ID
  keyless role assignment delete --assignee $APP_ID --role Reader -g rg-app`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if len(ids) > 0 {
				if delAssignee != "" || delRole != "" || delScope.scope != "" || delScope.group != "" {
					return errors.New("--ids cannot be combined with --assignee, --role, --scope or --resource-group")
				}
				for _, id := range ids {
					if _, err := c.assignments.DeleteByID(ctx, id, nil); err != nil {
						return err
					}
				}
				return nil
			}
			if delAssignee == "" && delRole == "" {
				return errors.New("give --ids, or --assignee and/or --role (with --scope or --resource-group)")
			}
			at, err := delScope.resolve(c.sub)
			if err != nil {
				return err
			}
			found, err := c.findAssignments(ctx, at, delAssignee, delRole, delAll, false, false)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				return errors.New("no role assignment matches; nothing was deleted")
			}
			for _, a := range found {
				if _, err := c.assignments.DeleteByID(ctx, *a.ID, nil); err != nil {
					return err
				}
			}
			return nil
		},
	}
	del.Flags().StringSliceVar(&ids, "ids", nil, "IDs of the assignments to delete")
	del.Flags().StringVar(&delAssignee, "assignee", "", "delete this principal's assignments")
	del.Flags().StringVar(&delRole, "role", "", "delete assignments of this role")
	del.Flags().BoolVar(&delAll, "all", false, "also delete matching assignments below the scope")
	delScope.add(del, "scope of the assignments")

	asg.AddCommand(create, list, del)
	return asg
}

// findAssignments lists the assignments at scope (below it too with all,
// above it with inherited) of one assignee (and its groups) and one role.
func (c *rbacClients) findAssignments(ctx context.Context, scope, assignee, role string, all, inherited, groups bool) ([]*armauthorization.RoleAssignment, error) {
	var filter *string
	if assignee != "" {
		p, err := c.findPrincipal(ctx, assignee)
		if err != nil {
			return nil, err
		}
		f := "principalId eq " + odataString(p.objectID)
		if groups {
			f = "assignedTo(" + odataString(p.objectID) + ")"
		}
		filter = roleAssignmentFilter(f)
	} else if !all {
		filter = roleAssignmentFilter("atScope()")
	}
	roleID := ""
	if role != "" {
		r, err := c.findRole(ctx, role, scope)
		if err != nil {
			return nil, err
		}
		roleID = strings.ToLower(*r.Name)
	}
	var out []*armauthorization.RoleAssignment
	for p := c.assignments.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: filter}); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, a := range page.Value {
			if a.Properties == nil {
				continue
			}
			s := roleStr(a.Properties.Scope)
			at := roleSameScope(s, scope)
			below := roleScopeBelow(scope, s)
			above := roleScopeBelow(s, scope)
			if !(at || all && below || inherited && above) {
				continue
			}
			if roleID != "" && strings.ToLower(roleIDTail(roleStr(a.Properties.RoleDefinitionID))) != roleID {
				continue
			}
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b *armauthorization.RoleAssignment) int { return strings.Compare(roleStr(a.ID), roleStr(b.ID)) })
	return out, nil
}

func roleNormalScope(s string) string {
	return "/" + strings.ToLower(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '/' }), "/"))
}

func roleSameScope(a, b string) bool { return roleNormalScope(a) == roleNormalScope(b) }

// roleScopeBelow reports whether scope lies strictly below ancestor.
func roleScopeBelow(ancestor, scope string) bool {
	a, s := roleNormalScope(ancestor), roleNormalScope(scope)
	if a == s {
		return false
	}
	return a == "/" || strings.HasPrefix(s, a+"/")
}

func roleCheckCommand() *cobra.Command {
	var (
		assignee, action string
		data             bool
		scope            roleScopeFlags
	)
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Say whether a principal may perform an action at a scope, and which assignment allows it",
		Long: `Ask the server's RBAC engine whether a principal (default: you) may perform an
action at a scope, and print the decision with the role assignments behind it.
--data checks a data action (e.g. reading a blob) instead of a control-plane
action. Needs Microsoft.Authorization/roleAssignments/read at the scope. Exits
with status 1 when the action is denied.`,
		Example: `  keyless role check --assignee $APP_ID --action Microsoft.Resources/subscriptions/resourceGroups/read -g rg-app
  keyless role check --assignee $APP_ID --data --action Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read --scope $CONTAINER_ID`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := connectRBAC(cmd)
			if err != nil {
				return err
			}
			at, err := scope.resolve(c.sub)
			if err != nil {
				return err
			}
			req := rbacapi.ExplainRequest{Action: action}
			if data {
				req = rbacapi.ExplainRequest{DataAction: action}
			}
			if assignee != "" {
				p, err := c.findPrincipal(cmd.Context(), assignee)
				if err != nil {
					return err
				}
				req.PrincipalID = p.objectID
			}
			path := strings.TrimSuffix(at, "/") + "/providers/Keyless.Authorization/explain"
			var d rbacapi.Decision
			if err := c.conn.call(cmd.Context(), http.MethodPost, path, rbacapi.APIVersion, req, &d); err != nil {
				return err
			}
			if err := Print(cmd, d); err != nil {
				return err
			}
			if !d.Allowed {
				return ExitError{Code: 1, Err: errors.New(d.Reason)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&assignee, "assignee", "", "principal to check (object ID, application ID, display name or identity resource ID; default: you)")
	cmd.Flags().StringVar(&action, "action", "", "the action, e.g. Microsoft.Compute/virtualMachines/read")
	cmd.Flags().BoolVar(&data, "data", false, "check a data action")
	_ = cmd.MarkFlagRequired("action")
	scope.add(cmd, "scope to check at")
	return cmd
}

func rolePermissionCommand() *cobra.Command {
	perm := &cobra.Command{Use: "permission", Short: "Show your own permissions"}
	var group, resourceID string
	list := &cobra.Command{
		Use:   "list",
		Short: "List your permissions at a resource group or resource, one entry per role assignment block",
		Example: `  keyless role permission list -g rg-app
  keyless role permission list --resource $VM_ID`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			sub := conn.SubscriptionID(cmd)
			var rid *arm.ResourceID
			if resourceID != "" {
				if rid, err = arm.ParseResourceID(resourceID); err != nil {
					return fmt.Errorf("--resource: %w", err)
				}
				sub, group = rid.SubscriptionID, rid.ResourceGroupName
			}
			if group == "" {
				return errors.New("give --resource-group or --resource")
			}
			client, err := armauthorization.NewPermissionsClient(sub, conn.Credential, conn.Options)
			if err != nil {
				return err
			}
			out := []*armauthorization.Permission{}
			if rid == nil {
				for p := client.NewListForResourceGroupPager(group, nil); p.More(); {
					page, err := p.NextPage(cmd.Context())
					if err != nil {
						return err
					}
					out = append(out, page.Value...)
				}
				return Print(cmd, out)
			}
			// The SDK wants the parent path apart: .../{ns}/{parent...}/{type}/{name}.
			var parents []string
			for p := rid.Parent; p != nil && p.ResourceType.Namespace == rid.ResourceType.Namespace && len(p.ResourceType.Types) > 0; p = p.Parent {
				parents = append([]string{p.ResourceType.Types[len(p.ResourceType.Types)-1] + "/" + p.Name}, parents...)
			}
			types := rid.ResourceType.Types
			for pg := client.NewListForResourcePager(group, rid.ResourceType.Namespace, strings.Join(parents, "/"), types[len(types)-1], rid.Name, nil); pg.More(); {
				page, err := pg.NextPage(cmd.Context())
				if err != nil {
					return err
				}
				out = append(out, page.Value...)
			}
			return Print(cmd, out)
		},
	}
	list.Flags().StringVarP(&group, "resource-group", "g", "", "resource group")
	list.Flags().StringVar(&resourceID, "resource", "", "resource ID")
	perm.AddCommand(list)
	return perm
}
