package cli

import (
	"net/http"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/directoryapi"
)

func init() { register(addDirectoryGroups) }

const groupsPath = "/providers/Keyless.Directory/groups"

// addDirectoryGroups adds `keyless ad group`: directory groups, named as az
// names them (`az ad group`), since `keyless group` is resource groups.
func addDirectoryGroups(root *cobra.Command) {
	ad := &cobra.Command{Use: "ad", Short: "Manage directory objects (groups)"}
	group := &cobra.Command{Use: "group", Short: "Manage directory groups; a role assigned to a group applies to its members, transitively"}

	var name, id, member string
	create := &cobra.Command{
		Use: "create", Short: "Create a group", Args: cobra.NoArgs,
		Example: "  keyless ad group create --display-name platform-readers --query properties.objectId -o tsv",
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out directoryapi.Group
			if err := conn.call(cmd.Context(), http.MethodPost, groupsPath, directoryapi.APIVersion, map[string]string{"displayName": name}, &out, http.StatusCreated); err != nil {
				return err
			}
			return Print(cmd, out)
		},
	}
	create.Flags().StringVar(&name, "display-name", "", "display name")
	_ = create.MarkFlagRequired("display-name")

	list := &cobra.Command{
		Use: "list", Short: "List groups", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out struct {
				Value []directoryapi.Group `json:"value"`
			}
			if err := conn.call(cmd.Context(), http.MethodGet, groupsPath, directoryapi.APIVersion, nil, &out); err != nil {
				return err
			}
			return Print(cmd, out.Value)
		},
	}
	show := &cobra.Command{
		Use: "show", Short: "Show a group and its direct members", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out directoryapi.Group
			if err := conn.call(cmd.Context(), http.MethodGet, groupsPath+"/"+id, directoryapi.APIVersion, nil, &out); err != nil {
				return err
			}
			return Print(cmd, out)
		},
	}
	del := &cobra.Command{
		Use: "delete", Short: "Delete a group with its memberships and role assignments", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			return conn.call(cmd.Context(), http.MethodDelete, groupsPath+"/"+id, directoryapi.APIVersion, nil, nil, http.StatusOK, http.StatusNoContent)
		},
	}
	members := &cobra.Command{Use: "member", Short: "Manage a group's members (service principals, managed identities' principals, groups)"}
	add := &cobra.Command{
		Use: "add", Short: "Add a member by object ID", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			return conn.call(cmd.Context(), http.MethodPut, groupsPath+"/"+id+"/members/"+member, directoryapi.APIVersion, map[string]any{}, nil, http.StatusOK, http.StatusCreated)
		},
	}
	remove := &cobra.Command{
		Use: "remove", Short: "Remove a member", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			return conn.call(cmd.Context(), http.MethodDelete, groupsPath+"/"+id+"/members/"+member, directoryapi.APIVersion, nil, nil, http.StatusOK, http.StatusNoContent)
		},
	}
	for _, c := range []*cobra.Command{show, del, add, remove} {
		c.Flags().StringVarP(&id, "group", "g", "", "object ID of the group")
		_ = c.MarkFlagRequired("group")
	}
	for _, c := range []*cobra.Command{add, remove} {
		c.Flags().StringVar(&member, "member-id", "", "object ID of the member")
		_ = c.MarkFlagRequired("member-id")
	}
	members.AddCommand(add, remove)
	group.AddCommand(create, list, show, del, members)
	ad.AddCommand(group)
	root.AddCommand(ad)
}
