package cli

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/subscription/armsubscription"
	"github.com/spf13/cobra"
)

func init() { register(addSubscription) }

var nonAlias = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func addSubscription(root *cobra.Command) {
	sub := &cobra.Command{Use: "subscription", Short: "Manage subscriptions (ARM containers for resource groups)"}

	var name, alias, workload string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a subscription through a Microsoft.Subscription alias, as az account alias create does",
		Long: `Create a subscription. keyless has no billing: the alias (default: the name in
lower case with spaces as dashes) simply names the new subscription, and
creating the same alias again answers the same subscription. Role assignments
at "/" (the administrator's Owner) apply in it at once.`,
		Example: `  keyless subscription create --name "Team A"
  keyless subscription create --name "Team A" --alias team-a --workload DevTest --query subscriptionId -o tsv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if alias == "" {
				alias = strings.Trim(nonAlias.ReplaceAllString(strings.ToLower(name), "-"), "-")
			}
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			client, err := armsubscription.NewAliasClient(conn.Credential, conn.Options)
			if err != nil {
				return err
			}
			props := armsubscription.PutAliasRequestProperties{DisplayName: to.Ptr(name)}
			if workload != "" {
				props.Workload = to.Ptr(armsubscription.Workload(workload))
			}
			poller, err := client.BeginCreate(cmd.Context(), alias, armsubscription.PutAliasRequest{Properties: &props}, nil)
			if err != nil {
				return err
			}
			res, err := poller.PollUntilDone(cmd.Context(), nil)
			if err != nil {
				return err
			}
			p := res.Properties
			return Print(cmd, map[string]string{
				"alias": alias, "subscriptionId": derefString(p.SubscriptionID), "displayName": derefString(p.DisplayName),
				"provisioningState": string(*p.ProvisioningState),
			})
		},
	}
	create.Flags().StringVarP(&name, "name", "n", "", "display name of the subscription")
	create.Flags().StringVar(&alias, "alias", "", "alias naming the subscription (default: derived from --name)")
	create.Flags().StringVar(&workload, "workload", "", "Production or DevTest")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use: "list", Short: "List subscriptions", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			client, err := armsubscriptions.NewClient(conn.Credential, conn.Options)
			if err != nil {
				return err
			}
			out := []*armsubscriptions.Subscription{}
			for pager := client.NewListPager(nil); pager.More(); {
				page, err := pager.NextPage(cmd.Context())
				if err != nil {
					return err
				}
				out = append(out, page.Value...)
			}
			return Print(cmd, out)
		},
	}
	var id string
	show := &cobra.Command{
		Use: "show", Short: "Show a subscription (default: the current one)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			if id == "" {
				id = conn.SubscriptionID(cmd)
			}
			if id == "" {
				return fmt.Errorf("give --id or --subscription")
			}
			client, err := armsubscriptions.NewClient(conn.Credential, conn.Options)
			if err != nil {
				return err
			}
			res, err := client.Get(cmd.Context(), id, nil)
			if err != nil {
				return err
			}
			return Print(cmd, res.Subscription)
		},
	}
	show.Flags().StringVar(&id, "id", "", "subscription ID")
	sub.AddCommand(create, list, show)
	root.AddCommand(sub)
}
