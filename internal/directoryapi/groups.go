package directoryapi

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/keyless-io/keyless/internal/arm"
	"github.com/keyless-io/keyless/internal/directory"
	"github.com/keyless-io/keyless/internal/store"
)

// Actions on directory groups, at "/".
const (
	ActionGroupRead   = "Keyless.Directory/groups/read"
	ActionGroupWrite  = "Keyless.Directory/groups/write"
	ActionGroupDelete = "Keyless.Directory/groups/delete"
	// Membership is its own child resource, as in ARM's naming.
	ActionMemberWrite  = "Keyless.Directory/groups/members/write"
	ActionMemberDelete = "Keyless.Directory/groups/members/delete"
)

// registerGroups adds the group routes. A role assigned to a group applies
// to its members, transitively through nested groups (the RBAC engine
// follows the memberships from the change feed).
func registerGroups(s *arm.Server, h handlers, v arm.VersionPolicy) {
	const groups = "/providers/Keyless.Directory/groups"
	const sample = groups + "/00000000-0000-0000-0000-000000000002"
	for _, r := range []arm.Route{
		{Name: "Groups_Create", Methods: []string{http.MethodPost}, Pattern: groups, APIVersions: v,
			Action: ActionGroupWrite, Scope: "/", Sample: groups, Handler: h.createGroup},
		{Name: "Groups_List", Methods: []string{http.MethodGet}, Pattern: groups, APIVersions: v,
			Action: ActionGroupRead, Scope: "/", Sample: groups, Handler: h.listGroups},
		{Name: "Groups_Get", Methods: []string{http.MethodGet}, Pattern: groups + "/{groupId}", APIVersions: v,
			Action: ActionGroupRead, Scope: "/", Sample: sample, Handler: h.getGroup},
		{Name: "Groups_Delete", Methods: []string{http.MethodDelete}, Pattern: groups + "/{groupId}", APIVersions: v,
			Action: ActionGroupDelete, Scope: "/", Sample: sample, Handler: h.deleteGroup},
		{Name: "GroupMembers_Add", Methods: []string{http.MethodPut}, Pattern: groups + "/{groupId}/members/{memberId}", APIVersions: v,
			Action: ActionMemberWrite, Scope: "/", Sample: sample + "/members/00000000-0000-0000-0000-000000000003", Handler: h.addMember},
		{Name: "GroupMembers_Remove", Methods: []string{http.MethodDelete}, Pattern: groups + "/{groupId}/members/{memberId}", APIVersions: v,
			Action: ActionMemberDelete, Scope: "/", Sample: sample + "/members/00000000-0000-0000-0000-000000000003", Handler: h.removeMember},
	} {
		s.Handle(r)
	}
}

// Group is the wire shape of a directory group.
type Group struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Properties GroupProps `json:"properties"`
}

// GroupProps are a group's fields; Members are direct members' object IDs.
type GroupProps struct {
	ObjectID    string    `json:"objectId"`
	DisplayName string    `json:"displayName"`
	Members     []string  `json:"members"`
	CreatedAt   time.Time `json:"createdDateTime"`
}

func groupWire(p store.Principal, members []string) Group {
	if members == nil {
		members = []string{}
	}
	return Group{ID: "/providers/Keyless.Directory/groups/" + p.ObjectID, Name: p.ObjectID, Type: "Keyless.Directory/groups",
		Properties: GroupProps{ObjectID: p.ObjectID, DisplayName: p.DisplayName, Members: members, CreatedAt: p.CreatedAt}}
}

func (h handlers) createGroup(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var req struct {
		DisplayName string `json:"displayName"`
	}
	if err := c.DecodeJSON(r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.DisplayName) == "" || len(req.DisplayName) > 256 {
		return arm.Errorf(http.StatusBadRequest, "InvalidRequestContent", "displayName", "displayName must be 1 to 256 characters.")
	}
	p := store.Principal{ObjectID: uuid.NewString(), DisplayName: req.DisplayName, Kind: store.PrincipalGroup, CreatedAt: time.Now().UTC()}
	if _, err := h.cfg.Store.Update(r.Context(), func(tx store.Tx) error { return tx.CreatePrincipal(r.Context(), p) }); err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusCreated, groupWire(p, nil))
	return nil
}

// group reads a group and its direct members.
func (h handlers) group(r *http.Request, tx store.Tx, id string) (store.Principal, []string, error) {
	p, err := tx.GetPrincipal(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && p.Kind != store.PrincipalGroup) {
		return p, nil, arm.Errorf(http.StatusNotFound, "GroupNotFound", "", "Group '%s' does not exist in the directory.", id)
	}
	if err != nil {
		return p, nil, err
	}
	members, err := tx.ListGroupMembers(r.Context(), id)
	return p, members, err
}

func (h handlers) listGroups(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	out := []Group{}
	err := h.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		ps, err := tx.ListPrincipals(r.Context(), store.PrincipalFilter{Kind: store.PrincipalGroup})
		if err != nil {
			return err
		}
		for _, p := range ps {
			members, err := tx.ListGroupMembers(r.Context(), p.ObjectID)
			if err != nil {
				return err
			}
			out = append(out, groupWire(p, members))
		}
		return nil
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (h handlers) getGroup(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	var out Group
	err := h.cfg.Store.View(r.Context(), func(tx store.Tx) error {
		p, members, err := h.group(r, tx, c.Params["groupId"])
		out = groupWire(p, members)
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, http.StatusOK, out)
	return nil
}

// deleteGroup deletes the group, its memberships and its role
// assignments; its members lose what it granted them at once.
func (h handlers) deleteGroup(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	_, err := h.cfg.Store.Update(r.Context(), func(tx store.Tx) error {
		if _, _, err := h.group(r, tx, c.Params["groupId"]); err != nil {
			return err
		}
		return directory.DeletePrincipal(r.Context(), tx, c.Params["groupId"])
	})
	var notFound *arm.Error
	if errors.As(err, &notFound) && notFound.Status == http.StatusNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h handlers) addMember(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	groupID, memberID := c.Params["groupId"], c.Params["memberId"]
	if strings.EqualFold(groupID, memberID) {
		return arm.Errorf(http.StatusBadRequest, "InvalidMember", "memberId", "A group cannot be a member of itself.")
	}
	status := http.StatusCreated
	_, err := h.cfg.Store.Update(r.Context(), func(tx store.Tx) error {
		if _, _, err := h.group(r, tx, groupID); err != nil {
			return err
		}
		if _, err := tx.GetPrincipal(r.Context(), memberID); errors.Is(err, store.ErrNotFound) {
			return arm.Errorf(http.StatusBadRequest, "PrincipalNotFound", "memberId", "Principal '%s' does not exist in the directory.", memberID)
		}
		err := tx.AddGroupMember(r.Context(), groupID, memberID)
		if errors.Is(err, store.ErrAlreadyExists) {
			status = http.StatusOK
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	arm.WriteJSON(w, status, map[string]string{"groupId": groupID, "memberId": memberID})
	return nil
}

func (h handlers) removeMember(w http.ResponseWriter, r *http.Request, c *arm.Call) error {
	_, err := h.cfg.Store.Update(r.Context(), func(tx store.Tx) error {
		return tx.RemoveGroupMember(r.Context(), c.Params["groupId"], c.Params["memberId"])
	})
	if errors.Is(err, store.ErrNotFound) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
