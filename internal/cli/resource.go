package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/spf13/cobra"
)

func init() { register(addResourceCommands) }

// addResourceCommands adds `keyless resource`, shaped after `az resource`,
// plus `keyless resource identity` for the identity block of any resource:
// the armresources Client does every call, by resource ID.
func addResourceCommands(root *cobra.Command) {
	resource := &cobra.Command{
		Use:   "resource",
		Short: "Manage resources of any type and their managed identities",
		Long: `keyless stores resources of any type (a VM, a web app, a job): their
properties are kept as given, and their identity block is managed, so that a
resource can hold a system-assigned identity and user-assigned identities and
obtain tokens for them.`,
	}
	resource.AddCommand(resourceCreateCommand(), resourceShowCommand(), resourceListCommand(), resourceDeleteCommand(), resourceIdentityCommand())
	root.AddCommand(resource)
}

// resourceTarget is how a command names resources: --ids, or the parts
// az takes (-g, -n, --namespace, --resource-type, --parent).
type resourceTarget struct {
	ids        []string
	spec       resourceSpec
	apiVersion string
}

func (t *resourceTarget) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&t.ids, "ids", nil, "one or more resource IDs (instead of the other resource naming flags)")
	f.StringVarP(&t.spec.group, "resource-group", "g", "", "resource group")
	f.StringVarP(&t.spec.name, "name", "n", "", "resource name")
	f.StringVar(&t.spec.namespace, "namespace", "", "provider namespace, e.g. Microsoft.Web")
	f.StringVar(&t.spec.resourceType, "resource-type", "", "resource type, e.g. sites, or with its namespace: Microsoft.Web/sites")
	f.StringVar(&t.spec.parent, "parent", "", "parent path of a child resource, e.g. virtualNetworks/vnet1")
	f.StringVar(&t.apiVersion, "api-version", "", "api-version to send (default: one the provider publishes for the type, else "+defaultAPIVersion+")")
}

// resolve returns the resource IDs the flags name.
func (t *resourceTarget) resolve(cmd *cobra.Command, conn *Connection) ([]string, error) {
	if ids := nonEmpty(t.ids); len(ids) > 0 {
		if t.spec != (resourceSpec{}) {
			return nil, errors.New("give either --ids or --resource-group, --name and --resource-type, not both")
		}
		if _, err := checkIDs(ids, ""); err != nil {
			return nil, err
		}
		return ids, nil
	}
	if t.spec.group == "" || t.spec.name == "" || t.spec.resourceType == "" {
		return nil, errors.New("name the resource with --ids, or with --resource-group, --name and --resource-type (plus --namespace and --parent as needed)")
	}
	sub, err := subscriptionOf(cmd, conn)
	if err != nil {
		return nil, err
	}
	id, err := t.spec.id(sub)
	if err != nil {
		return nil, err
	}
	return []string{id}, nil
}

func (c *Connection) resourcesClient(subscriptionID string) (*armresources.Client, error) {
	return armresources.NewClient(subscriptionID, c.Credential, c.Options)
}

// resourceTable is az's transform_resource_list.
func resourceTable(doc any) any {
	items, _ := doc.([]any)
	rows := make([]any, 0, len(items))
	for _, r := range items {
		rows = append(rows, tableRow("Name", member(r, "name"), "ResourceGroup", member(r, "resourceGroup"),
			"Location", member(r, "location"), "Type", member(r, "type"), "Status", member(r, "properties", "provisioningState")))
	}
	return rows
}

func resourceCreateCommand() *cobra.Command {
	var t resourceTarget
	var id, properties, location string
	var fullObject bool
	var tags, assign []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a resource of any type, or replace one",
		Long: `Create a resource, or replace it (PUT: the document given is the whole desired
state). --properties is its properties object, or with --is-full-object the
whole resource document; "@file" reads it from a file.

--assign-identity gives the resource managed identities, as az does:
"[system]" (or no value) for a system-assigned identity, and names or
resource IDs of user-assigned identities (names are looked up in the
resource's group).`,
		Example: `  keyless resource create -g rg-app -n web1 --resource-type Microsoft.Web/sites \
    -p '{"serverFarmId":"plan1"}' --assign-identity [system] id-web
  keyless resource create --id /subscriptions/$SUB/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1 \
    -p @vm.json --assign-identity`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id != "" {
				t.ids = append(t.ids, id)
			}
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			ids, err := t.resolve(cmd, conn)
			if err != nil {
				return err
			}
			if len(ids) != 1 {
				return errors.New("create makes one resource: give one --id")
			}
			rid, _ := arm.ParseResourceID(ids[0])
			var body armresources.GenericResource
			switch {
			case fullObject && properties == "":
				return errors.New("--is-full-object needs the object in --properties")
			case fullObject:
				if err := jsonArgument("--properties", properties, &body); err != nil {
					return err
				}
			case properties != "":
				var props any
				if err := jsonArgument("--properties", properties, &props); err != nil {
					return err
				}
				body.Properties = props
			default:
				body.Properties = map[string]any{}
			}
			if location != "" {
				body.Location = to.Ptr(location)
			}
			if body.Location == nil {
				loc, err := conn.groupLocation(cmd, rid.SubscriptionID, rid.ResourceGroupName)
				if err != nil {
					return err
				}
				body.Location = to.Ptr(loc)
			}
			if cmd.Flags().Changed("tags") {
				if body.Tags, err = parseTags(tags); err != nil {
					return err
				}
				if body.Tags == nil {
					body.Tags = map[string]*string{}
				}
			}
			if cmd.Flags().Changed("assign-identity") {
				if body.Identity, err = assignedIdentity(assign, rid); err != nil {
					return err
				}
			}
			client, err := conn.resourcesClient(rid.SubscriptionID)
			if err != nil {
				return err
			}
			poller, err := client.BeginCreateOrUpdateByID(cmd.Context(), ids[0], apiVersionFor(t.apiVersion, ids[0]), body, nil)
			if err != nil {
				return err
			}
			resp, err := poller.PollUntilDone(cmd.Context(), pollOptions)
			if err != nil {
				return err
			}
			return printResult(cmd, resp.GenericResource, printShape{})
		},
	}
	t.add(cmd)
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "resource ID (instead of the other resource naming flags)")
	f.StringVarP(&properties, "properties", "p", "", `properties as JSON, or "@file"`)
	f.BoolVar(&fullObject, "is-full-object", false, "--properties is the whole resource document (location, tags, identity, kind, sku, ...)")
	f.StringVarP(&location, "location", "l", "", "location (default: the document's, else the resource group's)")
	f.StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears them`)
	f.StringArrayVar(&assign, "assign-identity", nil, `managed identities: "[system]" and/or user-assigned identity names or IDs (no value: [system])`)
	multiWordFlags(cmd, "ids", "tags", "assign-identity")
	return cmd
}

// assignedIdentity is the identity block for --assign-identity words.
func assignedIdentity(words []string, rid *arm.ResourceID) (*armresources.Identity, error) {
	system, user, err := identityWords(words, rid)
	if err != nil {
		return nil, err
	}
	out := &armresources.Identity{Type: to.Ptr(identityType(system, len(user) > 0))}
	if len(user) > 0 {
		out.UserAssignedIdentities = map[string]*armresources.IdentityUserAssignedIdentitiesValue{}
		for _, u := range user {
			out.UserAssignedIdentities[u] = &armresources.IdentityUserAssignedIdentitiesValue{}
		}
	}
	return out, nil
}

// identityWords reads --assign-identity or --identities: "[system]" and
// user-assigned identity names or IDs; no word at all means "[system]".
func identityWords(words []string, rid *arm.ResourceID) (system bool, user []string, err error) {
	words = nonEmpty(words)
	if len(words) == 0 {
		return true, nil, nil
	}
	for _, w := range words {
		if isSystemWord(w) {
			system = true
			continue
		}
		id, err := userAssignedIdentityID(w, rid.SubscriptionID, rid.ResourceGroupName)
		if err != nil {
			return false, nil, err
		}
		if indexFold(user, id) < 0 {
			user = append(user, id)
		}
	}
	return system, user, nil
}

func identityType(system, user bool) armresources.ResourceIdentityType {
	switch {
	case system && user:
		return armresources.ResourceIdentityTypeSystemAssignedUserAssigned
	case system:
		return armresources.ResourceIdentityTypeSystemAssigned
	case user:
		return armresources.ResourceIdentityTypeUserAssigned
	}
	return armresources.ResourceIdentityTypeNone
}

func indexFold(list []string, s string) int {
	for i, e := range list {
		if strings.EqualFold(e, s) {
			return i
		}
	}
	return -1
}

func resourceShowCommand() *cobra.Command {
	var t resourceTarget
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show resources",
		Example: `  keyless resource show -g rg-app -n web1 --resource-type Microsoft.Web/sites
  keyless resource show --ids $ID --query identity.principalId -o tsv`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			ids, err := t.resolve(cmd, conn)
			if err != nil {
				return err
			}
			var out []armresources.GenericResource
			for _, id := range ids {
				r, err := getResource(cmd, conn, id, t.apiVersion)
				if err != nil {
					return err
				}
				out = append(out, r)
			}
			return printOneOrMany(cmd, out, printShape{})
		},
	}
	t.add(cmd)
	multiWordFlags(cmd, "ids")
	return cmd
}

func getResource(cmd *cobra.Command, conn *Connection, id, apiVersion string) (armresources.GenericResource, error) {
	rid, _ := arm.ParseResourceID(id)
	client, err := conn.resourcesClient(rid.SubscriptionID)
	if err != nil {
		return armresources.GenericResource{}, err
	}
	resp, err := client.GetByID(cmd.Context(), id, apiVersionFor(apiVersion, id), nil)
	return resp.GenericResource, err
}

func resourceListCommand() *cobra.Command {
	var group, resourceType, namespace, name, location, tag string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List resources in a resource group or the subscription",
		Example: `  keyless resource list -g rg-app -o table
  keyless resource list --resource-type Microsoft.Web/sites --query "[].id" -o tsv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fullType := resourceType
			if namespace != "" && resourceType != "" && !strings.Contains(resourceType, "/") {
				fullType = namespace + "/" + resourceType
			}
			var conds []string
			if fullType != "" {
				conds = append(conds, "resourceType eq "+odataString(fullType))
			}
			if name != "" {
				conds = append(conds, "name eq "+odataString(name))
			}
			if location != "" {
				conds = append(conds, "location eq "+odataString(location))
			}
			if f := tagFilter(tag); f != "" {
				conds = append(conds, f)
			}
			var filter *string
			if len(conds) > 0 {
				filter = to.Ptr(strings.Join(conds, " and "))
			}
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			sub, err := subscriptionOf(cmd, conn)
			if err != nil {
				return err
			}
			client, err := conn.resourcesClient(sub)
			if err != nil {
				return err
			}
			out := []*armresources.GenericResourceExpanded{}
			keep := func(page []*armresources.GenericResourceExpanded) {
				for _, r := range page {
					// --namespace alone lists the namespace's types, which
					// $filter cannot say.
					if namespace != "" && resourceType == "" && !strings.HasPrefix(strings.ToLower(derefString(r.Type)), strings.ToLower(namespace)+"/") {
						continue
					}
					out = append(out, r)
				}
			}
			if group != "" {
				pager := client.NewListByResourceGroupPager(group, &armresources.ClientListByResourceGroupOptions{Filter: filter})
				for pager.More() {
					page, err := pager.NextPage(cmd.Context())
					if err != nil {
						return err
					}
					keep(page.Value)
				}
			} else {
				pager := client.NewListPager(&armresources.ClientListOptions{Filter: filter})
				for pager.More() {
					page, err := pager.NextPage(cmd.Context())
					if err != nil {
						return err
					}
					keep(page.Value)
				}
			}
			return printResult(cmd, out, printShape{table: resourceTable})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&group, "resource-group", "g", "", "resource group (default: the whole subscription)")
	f.StringVar(&resourceType, "resource-type", "", "only this type, e.g. Microsoft.Web/sites")
	f.StringVar(&namespace, "namespace", "", "only this provider namespace, e.g. Microsoft.Web")
	f.StringVarP(&name, "name", "n", "", "only resources with this name")
	f.StringVarP(&location, "location", "l", "", "only resources in this location")
	f.StringVar(&tag, "tag", "", "only resources with this tag: key[=value]")
	return cmd
}

func resourceDeleteCommand() *cobra.Command {
	var t resourceTarget
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete resources",
		Long: `Delete resources. A resource's system-assigned identity and its role
assignments are deleted with it; user-assigned identities are only detached.`,
		Example: "  keyless resource delete -g rg-app -n web1 --resource-type Microsoft.Web/sites",
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			ids, err := t.resolve(cmd, conn)
			if err != nil {
				return err
			}
			for _, id := range ids {
				rid, _ := arm.ParseResourceID(id)
				client, err := conn.resourcesClient(rid.SubscriptionID)
				if err != nil {
					return err
				}
				poller, err := client.BeginDeleteByID(cmd.Context(), id, apiVersionFor(t.apiVersion, id), nil)
				if err != nil {
					return err
				}
				if _, err := poller.PollUntilDone(cmd.Context(), pollOptions); err != nil {
					return err
				}
			}
			return nil
		},
	}
	t.add(cmd)
	multiWordFlags(cmd, "ids")
	return cmd
}

// resourceIdentityCommand adds `keyless resource identity`: the identity
// block of any resource, changed with PATCH as az's `vm identity` and
// `webapp identity` commands do.
func resourceIdentityCommand() *cobra.Command {
	identity := &cobra.Command{
		Use:   "identity",
		Short: "Assign, remove and show the managed identities of a resource",
	}
	identity.AddCommand(resourceIdentityAssignCommand(), resourceIdentityRemoveCommand(), resourceIdentityShowCommand())
	return identity
}

// identityBlock is what `resource identity` prints: the resource's identity
// block, {"type": "None"} when it has none.
func identityBlock(r armresources.GenericResource) any {
	if r.Identity == nil {
		return &armresources.Identity{Type: to.Ptr(armresources.ResourceIdentityTypeNone)}
	}
	return r.Identity
}

// currentIdentity reads the identity block of a resource: whether it has a
// system-assigned identity and the IDs of its user-assigned ones, as the
// server spells them.
func currentIdentity(r armresources.GenericResource) (system bool, user []string) {
	if r.Identity == nil {
		return false, nil
	}
	system = strings.Contains(strings.ToLower(string(derefString((*string)(r.Identity.Type)))), "systemassigned")
	for id := range r.Identity.UserAssignedIdentities {
		user = append(user, id)
	}
	return system, user
}

// changeIdentities runs an identity change over every resource the flags
// name: change gets the resource and returns the PATCH identity block.
func changeIdentities(cmd *cobra.Command, t *resourceTarget, change func(r armresources.GenericResource, rid *arm.ResourceID) (*armresources.Identity, error)) error {
	conn, err := Connect(cmd)
	if err != nil {
		return err
	}
	ids, err := t.resolve(cmd, conn)
	if err != nil {
		return err
	}
	var out []any
	for _, id := range ids {
		rid, _ := arm.ParseResourceID(id)
		apiVersion := apiVersionFor(t.apiVersion, id)
		client, err := conn.resourcesClient(rid.SubscriptionID)
		if err != nil {
			return err
		}
		current, err := client.GetByID(cmd.Context(), id, apiVersion, nil)
		if err != nil {
			return err
		}
		patch, err := change(current.GenericResource, rid)
		if err != nil {
			return err
		}
		poller, err := client.BeginUpdateByID(cmd.Context(), id, apiVersion, armresources.GenericResource{Identity: patch}, nil)
		if err != nil {
			return err
		}
		resp, err := poller.PollUntilDone(cmd.Context(), pollOptions)
		if err != nil {
			return err
		}
		out = append(out, identityBlock(resp.GenericResource))
	}
	return printOneOrMany(cmd, out, printShape{})
}

func identitiesFlag(cmd *cobra.Command, into *[]string, verb string) {
	cmd.Flags().StringArrayVar(into, "identities", nil, `space-separated identities to `+verb+`: "[system]" and/or user-assigned identity names or IDs (default: [system])`)
}

func resourceIdentityAssignCommand() *cobra.Command {
	var t resourceTarget
	var identities []string
	cmd := &cobra.Command{
		Use:   "assign",
		Short: "Give a resource a system-assigned identity and/or attach user-assigned identities",
		Long: `Give a resource managed identities, keeping those it has. "[system]" turns on its
system-assigned identity (a new principal, deleted with the resource);
user-assigned identities are named by ID, or by name in the resource's group.
Attaching a user-assigned identity needs the assign action on it (Managed
Identity Operator).`,
		Example: `  keyless resource identity assign -g rg-app -n web1 --resource-type Microsoft.Web/sites --identities [system] id-web
  keyless resource identity assign --ids $VM_ID`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return changeIdentities(cmd, &t, func(r armresources.GenericResource, rid *arm.ResourceID) (*armresources.Identity, error) {
				addSystem, add, err := identityWords(identities, rid)
				if err != nil {
					return nil, err
				}
				system, user := currentIdentity(r)
				for _, id := range add {
					if indexFold(user, id) < 0 {
						user = append(user, id)
					}
				}
				patch := &armresources.Identity{Type: to.Ptr(identityType(system || addSystem, len(user) > 0))}
				if len(add) > 0 {
					// PATCH keeps the identities it does not mention.
					patch.UserAssignedIdentities = map[string]*armresources.IdentityUserAssignedIdentitiesValue{}
					for _, id := range add {
						patch.UserAssignedIdentities[id] = &armresources.IdentityUserAssignedIdentitiesValue{}
					}
				}
				return patch, nil
			})
		},
	}
	t.add(cmd)
	identitiesFlag(cmd, &identities, "assign")
	multiWordFlags(cmd, "ids", "identities")
	return cmd
}

func resourceIdentityRemoveCommand() *cobra.Command {
	var t resourceTarget
	var identities []string
	cmd := &cobra.Command{
		Use:   "remove",
		Short: "Turn off a resource's system-assigned identity and/or detach user-assigned identities",
		Long: `Remove managed identities from a resource, keeping the others. Removing
"[system]" deletes the system-assigned principal and its role assignments;
a user-assigned identity is only detached (it is sent as null in a PATCH).`,
		Example: `  keyless resource identity remove -g rg-app -n web1 --resource-type Microsoft.Web/sites --identities id-web
  keyless resource identity remove --ids $VM_ID --identities [system]`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return changeIdentities(cmd, &t, func(r armresources.GenericResource, rid *arm.ResourceID) (*armresources.Identity, error) {
				removeSystem, remove, err := identityWords(identities, rid)
				if err != nil {
					return nil, err
				}
				system, user := currentIdentity(r)
				if removeSystem && !system {
					return nil, fmt.Errorf("%s has no system-assigned identity", rid.String())
				}
				var removed []string
				for _, id := range remove {
					i := indexFold(user, id)
					if i < 0 {
						return nil, fmt.Errorf("user-assigned identity %s is not attached to %s", id, rid.String())
					}
					removed = append(removed, user[i])
					user = append(user[:i], user[i+1:]...)
				}
				patch := &armresources.Identity{Type: to.Ptr(identityType(system && !removeSystem, len(user) > 0))}
				if len(user) > 0 && len(removed) > 0 {
					// A null value detaches one identity and keeps the rest
					// (CONTRACT.md "ARM details").
					patch.UserAssignedIdentities = map[string]*armresources.IdentityUserAssignedIdentitiesValue{}
					for _, id := range removed {
						patch.UserAssignedIdentities[id] = nil
					}
				}
				return patch, nil
			})
		},
	}
	t.add(cmd)
	identitiesFlag(cmd, &identities, "remove")
	multiWordFlags(cmd, "ids", "identities")
	return cmd
}

func resourceIdentityShowCommand() *cobra.Command {
	var t resourceTarget
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the identity block of a resource: principalId, tenantId, userAssignedIdentities",
		Example: `  keyless resource identity show -g rg-app -n web1 --resource-type Microsoft.Web/sites
  keyless resource identity show --ids $ID --query principalId -o tsv`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			ids, err := t.resolve(cmd, conn)
			if err != nil {
				return err
			}
			var out []any
			for _, id := range ids {
				r, err := getResource(cmd, conn, id, t.apiVersion)
				if err != nil {
					return err
				}
				out = append(out, identityBlock(r))
			}
			return printOneOrMany(cmd, out, printShape{})
		},
	}
	t.add(cmd)
	multiWordFlags(cmd, "ids")
	return cmd
}
