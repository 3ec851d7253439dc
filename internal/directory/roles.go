package directory

import (
	"context"
	"strings"

	"github.com/keyless-io/keyless/internal/store"
)

// Directory roles govern the directory itself (applications, service
// principals, groups, role assignments), as Entra's do through Microsoft
// Graph; ARM's role assignments never do. Their IDs are Entra's role
// template IDs, which scripts and the Graph SDK name them by.
const (
	GlobalAdministratorRoleID           = "62e90394-69f5-4237-9190-012177145e10"
	ApplicationAdministratorRoleID      = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3"
	CloudApplicationAdministratorRoleID = "158c047a-c907-4556-b7ef-446551a6b5f7"
	GroupsAdministratorRoleID           = "fdd7a751-b60b-444a-984c-02652fe8fa1c"
	UserAdministratorRoleID             = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	PrivilegedRoleAdministratorRoleID   = "e8611ab8-c189-46e8-94e1-60213ab1f814"
	DirectoryReadersRoleID              = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
)

// Capability is what a directory write needs.
type Capability int

const (
	// ManageApplications creates, changes and deletes applications and
	// service principals and their credentials.
	ManageApplications Capability = iota
	// ManageGroups creates, changes and deletes groups, their members
	// and owners.
	ManageGroups
	// ManageRoles grants and revokes directory roles.
	ManageRoles
)

// DirectoryRole is one built-in directory role.
type DirectoryRole struct {
	TemplateID   string
	DisplayName  string
	Description  string
	Capabilities []Capability
}

// DirectoryRoles is the catalogue of directory roles keyless enforces,
// with Entra's names, descriptions and (for what keyless has) powers.
var DirectoryRoles = []DirectoryRole{
	{GlobalAdministratorRoleID, "Global Administrator", "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
		[]Capability{ManageApplications, ManageGroups, ManageRoles}},
	{ApplicationAdministratorRoleID, "Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps.",
		[]Capability{ManageApplications}},
	{CloudApplicationAdministratorRoleID, "Cloud Application Administrator", "Can create and manage all aspects of app registrations and enterprise apps except App Proxy.",
		[]Capability{ManageApplications}},
	{GroupsAdministratorRoleID, "Groups Administrator", "Members of this role can create/manage groups, create/manage groups settings like naming and expiration policies, and view groups activity and audit reports.",
		[]Capability{ManageGroups}},
	{UserAdministratorRoleID, "User Administrator", "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
		[]Capability{ManageGroups}},
	{PrivilegedRoleAdministratorRoleID, "Privileged Role Administrator", "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
		[]Capability{ManageRoles}},
	{DirectoryReadersRoleID, "Directory Readers", "Can read basic directory information. Commonly used to grant directory read access to applications and guests.", nil},
}

// DirectoryRoleByID finds a role of the catalogue by template ID.
func DirectoryRoleByID(id string) (DirectoryRole, bool) {
	for _, r := range DirectoryRoles {
		if strings.EqualFold(r.TemplateID, id) {
			return r, true
		}
	}
	return DirectoryRole{}, false
}

// Can reports whether the principal holds a directory role with the
// capability, directly or through a group it is a member of (transitively),
// as Entra's role-assignable groups grant their roles to members.
func Can(ctx context.Context, tx store.Tx, principalID string, c Capability) (bool, error) {
	seen := map[string]bool{}
	queue := []string{principalID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if seen[id] {
			continue
		}
		seen[id] = true
		assignments, err := tx.ListDirectoryRoleAssignments(ctx, store.DirectoryRoleAssignmentFilter{PrincipalID: id})
		if err != nil {
			return false, err
		}
		for _, a := range assignments {
			role, ok := DirectoryRoleByID(a.RoleDefinitionID)
			if !ok {
				continue
			}
			for _, have := range role.Capabilities {
				if have == c {
					return true, nil
				}
			}
		}
		groups, err := tx.ListGroupsOf(ctx, id)
		if err != nil {
			return false, err
		}
		queue = append(queue, groups...)
	}
	return false, nil
}
