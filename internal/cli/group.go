package cli

import (
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/spf13/cobra"
)

func init() { register(addGroupCommands) }

// addGroupCommands adds `keyless group`, shaped after `az group`: the
// armresources ResourceGroupsClient does every call.
func addGroupCommands(root *cobra.Command) {
	group := &cobra.Command{Use: "group", Short: "Manage resource groups"}
	group.AddCommand(groupCreateCommand(), groupShowCommand(), groupListCommand(), groupDeleteCommand(), groupExistsCommand())
	root.AddCommand(group)
}

// groupNameFlags adds -n/--name and, as az accepts for every group command,
// -g/--resource-group as its synonym.
func groupNameFlags(cmd *cobra.Command) func() (string, error) {
	var name, alias string
	cmd.Flags().StringVarP(&name, "name", "n", "", "name of the resource group")
	cmd.Flags().StringVarP(&alias, "resource-group", "g", "", "name of the resource group (same as --name)")
	return func() (string, error) {
		switch {
		case name != "" && alias != "" && name != alias:
			return "", errors.New("--name and --resource-group name different groups; give one")
		case name != "":
			return name, nil
		case alias != "":
			return alias, nil
		}
		return "", errors.New("give the resource group's --name (or -g)")
	}
}

func resourceGroupsClient(cmd *cobra.Command) (*armresources.ResourceGroupsClient, error) {
	conn, err := Connect(cmd)
	if err != nil {
		return nil, err
	}
	sub, err := subscriptionOf(cmd, conn)
	if err != nil {
		return nil, err
	}
	return armresources.NewResourceGroupsClient(sub, conn.Credential, conn.Options)
}

// groupTable is az's transform_resource_group_list.
func groupTable(doc any) any {
	items, _ := doc.([]any)
	rows := make([]any, 0, len(items))
	for _, g := range items {
		rows = append(rows, tableRow("Name", member(g, "name"), "Location", member(g, "location"), "Status", member(g, "properties", "provisioningState")))
	}
	return rows
}

func groupCreateCommand() *cobra.Command {
	var location string
	var tags []string
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Create a resource group, or replace the tags of an existing one",
		Example: `  keyless group create -n rg-app -l westus
  keyless group create -n rg-app -l westus --tags env=prod team=web`,
	}
	name := groupNameFlags(cmd)
	cmd.Flags().StringVarP(&location, "location", "l", "", "location, e.g. westus")
	cmd.Flags().StringArrayVar(&tags, "tags", nil, `space-separated tags: key[=value] [key[=value] ...]; "" clears them`)
	_ = cmd.MarkFlagRequired("location")
	multiWordFlags(cmd, "tags")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		n, err := name()
		if err != nil {
			return err
		}
		tagMap, err := parseTags(tags)
		if err != nil {
			return err
		}
		client, err := resourceGroupsClient(cmd)
		if err != nil {
			return err
		}
		resp, err := client.CreateOrUpdate(cmd.Context(), n, armresources.ResourceGroup{Location: to.Ptr(location), Tags: tagMap}, nil)
		if err != nil {
			return err
		}
		return printResult(cmd, resp.ResourceGroup, printShape{})
	}
	return cmd
}

func groupShowCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "show", Short: "Show a resource group", Args: cobra.NoArgs}
	name := groupNameFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		n, err := name()
		if err != nil {
			return err
		}
		client, err := resourceGroupsClient(cmd)
		if err != nil {
			return err
		}
		resp, err := client.Get(cmd.Context(), n, nil)
		if err != nil {
			return err
		}
		return printResult(cmd, resp.ResourceGroup, printShape{})
	}
	return cmd
}

func groupListCommand() *cobra.Command {
	var tag string
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List resource groups",
		Example: "  keyless group list --tag env=prod -o table",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			client, err := resourceGroupsClient(cmd)
			if err != nil {
				return err
			}
			var opts armresources.ResourceGroupsClientListOptions
			if f := tagFilter(tag); f != "" {
				opts.Filter = to.Ptr(f)
			}
			groups := []*armresources.ResourceGroup{}
			pager := client.NewListPager(&opts)
			for pager.More() {
				page, err := pager.NextPage(cmd.Context())
				if err != nil {
					return err
				}
				groups = append(groups, page.Value...)
			}
			return printResult(cmd, groups, printShape{table: groupTable})
		},
	}
	cmd.Flags().StringVar(&tag, "tag", "", "only groups with this tag: key[=value]")
	return cmd
}

func groupDeleteCommand() *cobra.Command {
	var noWait bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a resource group with everything in it",
		Long: `Delete a resource group with every resource in it. System-assigned identities
of those resources, user-assigned identities in the group and the role
assignments they hold are deleted with it. The command waits until the
deletion has finished unless --no-wait is given.`,
		Example: "  keyless group delete -n rg-app --yes",
		Args:    cobra.NoArgs,
	}
	name := groupNameFlags(cmd)
	cmd.Flags().BoolP("yes", "y", false, "do not prompt for confirmation (keyless never prompts; accepted for az parity)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the deletion to finish")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		n, err := name()
		if err != nil {
			return err
		}
		client, err := resourceGroupsClient(cmd)
		if err != nil {
			return err
		}
		poller, err := client.BeginDelete(cmd.Context(), n, nil)
		if err != nil || noWait {
			return err
		}
		_, err = poller.PollUntilDone(cmd.Context(), pollOptions)
		return err
	}
	return cmd
}

func groupExistsCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "exists", Short: "Print true if the resource group exists, else false", Args: cobra.NoArgs}
	name := groupNameFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		n, err := name()
		if err != nil {
			return err
		}
		client, err := resourceGroupsClient(cmd)
		if err != nil {
			return err
		}
		resp, err := client.CheckExistence(cmd.Context(), n, nil)
		if err != nil {
			return err
		}
		return Print(cmd, resp.Success)
	}
	return cmd
}
