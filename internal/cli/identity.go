package cli

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/spf13/cobra"
)

func init() { register(addIdentityCommands) }

// defaultAudience is what az puts in a federated identity credential when
// --audiences is not given: the audience Entra ID's token exchange expects.
const defaultAudience = "api://AzureADTokenExchange"

// identityShape is how az prints identities and federated credentials: the
// Python SDK flattens "properties", so principalId, clientId, issuer and
// subject sit at the top level.
var identityShape = printShape{flatten: true}

// addIdentityCommands adds `keyless identity`, shaped after `az identity`:
// the armmsi clients do every call.
func addIdentityCommands(root *cobra.Command) {
	identity := &cobra.Command{Use: "identity", Short: "Manage user-assigned identities and their federated credentials"}
	identity.AddCommand(identityCreateCommand(), identityShowCommand(), identityListCommand(), identityDeleteCommand(), federatedCredentialCommand(),
		identityUsageCommand())
	root.AddCommand(identity)
}

// identityRef names one user-assigned identity.
type identityRef struct{ subscriptionID, group, name string }

// identityTargets reads --ids, or --name with --resource-group in the
// command's subscription.
func identityTargets(cmd *cobra.Command, conn *Connection, ids []string, group, name string) ([]identityRef, error) {
	ids = nonEmpty(ids)
	if len(ids) > 0 {
		if group != "" || name != "" {
			return nil, errors.New("give either --ids or --name with --resource-group, not both")
		}
		parsed, err := checkIDs(ids, userAssignedIdentityType)
		if err != nil {
			return nil, err
		}
		refs := make([]identityRef, 0, len(parsed))
		for _, id := range parsed {
			refs = append(refs, identityRef{id.SubscriptionID, id.ResourceGroupName, id.Name})
		}
		return refs, nil
	}
	if group == "" || name == "" {
		return nil, errors.New("give --ids, or --name with --resource-group")
	}
	sub, err := subscriptionOf(cmd, conn)
	if err != nil {
		return nil, err
	}
	return []identityRef{{sub, group, name}}, nil
}

func (c *Connection) identitiesClient(subscriptionID string) (*armmsi.UserAssignedIdentitiesClient, error) {
	return armmsi.NewUserAssignedIdentitiesClient(subscriptionID, c.Credential, c.Options)
}

// groupLocation is the location of a resource group: az's default for
// what is created in it.
func (c *Connection) groupLocation(cmd *cobra.Command, subscriptionID, group string) (string, error) {
	groups, err := armresources.NewResourceGroupsClient(subscriptionID, c.Credential, c.Options)
	if err != nil {
		return "", err
	}
	g, err := groups.Get(cmd.Context(), group, nil)
	if err != nil {
		return "", err
	}
	return derefString(g.Location), nil
}

// printOneOrMany prints a single result as an object and several (more
// than one --ids) as a list, as az does.
func printOneOrMany[T any](cmd *cobra.Command, results []T, shape printShape) error {
	if len(results) == 1 {
		return printResult(cmd, results[0], shape)
	}
	return printResult(cmd, results, shape)
}

func identityCreateCommand() *cobra.Command {
	var name, group, location string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a user-assigned identity (or update its tags)",
		Long: `Create a user-assigned identity: a principal with its own lifecycle that can be
granted roles before anything uses it and attached to any number of resources.`,
		Example: `  keyless identity create -g rg-app -n id-web
  keyless identity create -g rg-app -n id-jobs -l westus --tags env=prod`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tagMap, err := parseTags(tags)
			if err != nil {
				return err
			}
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			sub, err := subscriptionOf(cmd, conn)
			if err != nil {
				return err
			}
			if location == "" {
				if location, err = conn.groupLocation(cmd, sub, group); err != nil {
					return err
				}
			}
			client, err := conn.identitiesClient(sub)
			if err != nil {
				return err
			}
			resp, err := client.CreateOrUpdate(cmd.Context(), group, name, armmsi.Identity{Location: to.Ptr(location), Tags: tagMap}, nil)
			if err != nil {
				return err
			}
			return printResult(cmd, resp.Identity, identityShape)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&name, "name", "n", "", "name of the identity")
	f.StringVarP(&group, "resource-group", "g", "", "resource group")
	f.StringVarP(&location, "location", "l", "", "location (default: the resource group's)")
	f.StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears them`)
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("resource-group")
	multiWordFlags(cmd, "tags")
	return cmd
}

// identityTargetFlags adds --ids, -n and -g.
func identityTargetFlags(cmd *cobra.Command, ids *[]string, name, group *string) {
	f := cmd.Flags()
	f.StringArrayVar(ids, "ids", nil, "one or more identity resource IDs (instead of --name and --resource-group)")
	f.StringVarP(name, "name", "n", "", "name of the identity")
	f.StringVarP(group, "resource-group", "g", "", "resource group")
	multiWordFlags(cmd, "ids")
}

func identityShowCommand() *cobra.Command {
	var ids []string
	var name, group string
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a user-assigned identity: its principalId, clientId and tenantId, and when it was last used",
		Long: `Show a user-assigned identity as az does, plus lastTokenIssued (the last token
per audience) and lastActivity (its last token or control-plane request;
null when never used within the usage retention). 'keyless identity usage'
shows the detail.`,
		Example: `  keyless identity show -g rg-app -n id-web
  keyless identity show -g rg-app -n id-web --query principalId -o tsv
  keyless identity show -g rg-app -n id-web --query lastTokenIssued`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			refs, err := identityTargets(cmd, conn, ids, group, name)
			if err != nil {
				return err
			}
			var out []any
			for _, ref := range refs {
				client, err := conn.identitiesClient(ref.subscriptionID)
				if err != nil {
					return err
				}
				resp, err := client.Get(cmd.Context(), ref.group, ref.name, nil)
				if err != nil {
					return err
				}
				doc, err := conn.identityWithLastUsed(cmd.Context(), resp.Identity)
				if err != nil {
					return err
				}
				out = append(out, doc)
			}
			return printOneOrMany(cmd, out, identityShape)
		},
	}
	identityTargetFlags(cmd, &ids, &name, &group)
	return cmd
}

// identityWithLastUsed is the identity's az document with its last use
// added, or the document alone when its usage cannot be read.
func (c *Connection) identityWithLastUsed(ctx context.Context, id armmsi.Identity) (any, error) {
	if id.ID == nil || id.Properties == nil || id.Properties.PrincipalID == nil {
		return id, nil
	}
	used, ok, err := c.lastUsedOf(ctx, *id.ID, *id.Properties.PrincipalID)
	if err != nil || !ok {
		return id, err
	}
	return withLastUsed(id, identityShape.flatten, used)
}

func identityListCommand() *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List user-assigned identities in a resource group, or in the subscription",
		Example: "  keyless identity list -g rg-app -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			sub, err := subscriptionOf(cmd, conn)
			if err != nil {
				return err
			}
			client, err := conn.identitiesClient(sub)
			if err != nil {
				return err
			}
			out := []*armmsi.Identity{}
			if group != "" {
				pager := client.NewListByResourceGroupPager(group, nil)
				for pager.More() {
					page, err := pager.NextPage(cmd.Context())
					if err != nil {
						return err
					}
					out = append(out, page.Value...)
				}
			} else {
				pager := client.NewListBySubscriptionPager(nil)
				for pager.More() {
					page, err := pager.NextPage(cmd.Context())
					if err != nil {
						return err
					}
					out = append(out, page.Value...)
				}
			}
			return printResult(cmd, out, identityShape)
		},
	}
	cmd.Flags().StringVarP(&group, "resource-group", "g", "", "resource group (default: the whole subscription)")
	return cmd
}

func identityDeleteCommand() *cobra.Command {
	var ids []string
	var name, group string
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a user-assigned identity",
		Long: `Delete a user-assigned identity. It is detached from every resource that holds
it, and its role assignments and federated credentials are deleted with it.`,
		Example: "  keyless identity delete -g rg-app -n id-web",
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			refs, err := identityTargets(cmd, conn, ids, group, name)
			if err != nil {
				return err
			}
			for _, ref := range refs {
				client, err := conn.identitiesClient(ref.subscriptionID)
				if err != nil {
					return err
				}
				if _, err := client.Delete(cmd.Context(), ref.group, ref.name, nil); err != nil {
					return err
				}
			}
			return nil
		},
	}
	identityTargetFlags(cmd, &ids, &name, &group)
	return cmd
}

// federatedCredentialCommand adds `keyless identity federated-credential`,
// shaped after `az identity federated-credential`.
func federatedCredentialCommand() *cobra.Command {
	fic := &cobra.Command{
		Use:   "federated-credential",
		Short: "Manage federated identity credentials: external tokens a user-assigned identity trusts",
		Long: `A federated identity credential lets a workload outside keyless (a Kubernetes
pod, a CI job, another cloud) exchange a token from its own OIDC issuer for a
token of the user-assigned identity, without any secret: the issuer, subject
and audience of the external token must match the credential.`,
	}
	fic.AddCommand(ficCreateCommand(), ficShowCommand(), ficListCommand(), ficDeleteCommand())
	return fic
}

// ficFlags are what every federated-credential command names: the parent
// identity and its group, and (withName) the credential.
type ficFlags struct{ identity, group, name string }

func (f *ficFlags) add(cmd *cobra.Command, withName bool) {
	cmd.Flags().StringVar(&f.identity, "identity-name", "", "name of the user-assigned identity")
	cmd.Flags().StringVarP(&f.group, "resource-group", "g", "", "resource group of the identity")
	_ = cmd.MarkFlagRequired("identity-name")
	_ = cmd.MarkFlagRequired("resource-group")
	if withName {
		cmd.Flags().StringVarP(&f.name, "name", "n", "", "name of the federated credential")
		_ = cmd.MarkFlagRequired("name")
	}
}

func ficClient(cmd *cobra.Command) (*armmsi.FederatedIdentityCredentialsClient, error) {
	conn, err := Connect(cmd)
	if err != nil {
		return nil, err
	}
	sub, err := subscriptionOf(cmd, conn)
	if err != nil {
		return nil, err
	}
	return armmsi.NewFederatedIdentityCredentialsClient(sub, conn.Credential, conn.Options)
}

func ficCreateCommand() *cobra.Command {
	var f ficFlags
	var issuer, subject string
	var audiences []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create or update a federated identity credential",
		Example: `  keyless identity federated-credential create -g rg-app --identity-name id-web -n github-main \
    --issuer https://token.actions.githubusercontent.com \
    --subject repo:acme/web:ref:refs/heads/main`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			auds := nonEmpty(audiences)
			if len(auds) == 0 {
				auds = []string{defaultAudience}
			}
			client, err := ficClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.CreateOrUpdate(cmd.Context(), f.group, f.identity, f.name, armmsi.FederatedIdentityCredential{
				Properties: &armmsi.FederatedIdentityCredentialProperties{
					Issuer: to.Ptr(issuer), Subject: to.Ptr(subject), Audiences: to.SliceOfPtrs(auds...),
				},
			}, nil)
			if err != nil {
				return err
			}
			return printResult(cmd, resp.FederatedIdentityCredential, identityShape)
		},
	}
	f.add(cmd, true)
	cmd.Flags().StringVar(&issuer, "issuer", "", "URL of the external OIDC issuer to trust")
	cmd.Flags().StringVar(&subject, "subject", "", "subject (sub claim) of the external tokens to accept")
	cmd.Flags().StringArrayVar(&audiences, "audiences", nil, "space-separated audiences the external token may carry (default: "+defaultAudience+")")
	_ = cmd.MarkFlagRequired("issuer")
	_ = cmd.MarkFlagRequired("subject")
	multiWordFlags(cmd, "audiences")
	return cmd
}

func ficShowCommand() *cobra.Command {
	var f ficFlags
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show a federated identity credential",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := ficClient(cmd)
			if err != nil {
				return err
			}
			resp, err := client.Get(cmd.Context(), f.group, f.identity, f.name, nil)
			if err != nil {
				return err
			}
			return printResult(cmd, resp.FederatedIdentityCredential, identityShape)
		},
	}
	f.add(cmd, true)
	return cmd
}

func ficListCommand() *cobra.Command {
	var f ficFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the federated identity credentials of a user-assigned identity",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := ficClient(cmd)
			if err != nil {
				return err
			}
			out := []*armmsi.FederatedIdentityCredential{}
			pager := client.NewListPager(f.group, f.identity, nil)
			for pager.More() {
				page, err := pager.NextPage(cmd.Context())
				if err != nil {
					return err
				}
				out = append(out, page.Value...)
			}
			return printResult(cmd, out, identityShape)
		},
	}
	f.add(cmd, false)
	return cmd
}

func ficDeleteCommand() *cobra.Command {
	var f ficFlags
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a federated identity credential; tokens it would have accepted are refused from then on",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := ficClient(cmd)
			if err != nil {
				return err
			}
			_, err = client.Delete(cmd.Context(), f.group, f.identity, f.name, nil)
			return err
		},
	}
	f.add(cmd, true)
	cmd.Flags().BoolP("yes", "y", false, "do not prompt for confirmation (keyless never prompts; accepted for az parity)")
	return cmd
}
