package resources_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/resources"
	"github.com/keyless-io/keyless/internal/store"
)

func sys() *resources.IdentitySpec { return &resources.IdentitySpec{Type: "SystemAssigned"} }

func user(ids ...string) *resources.IdentitySpec {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return &resources.IdentitySpec{Type: "UserAssigned", UserAssigned: m}
}

func both(ids ...string) *resources.IdentitySpec {
	s := user(ids...)
	s.Type = "SystemAssigned, UserAssigned"
	return s
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, f *fixture)
	}{
		{"enabling SystemAssigned creates a principal owned by the resource", func(t *testing.T, f *fixture) {
			f.group("rg1")
			id := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			v := f.put(id, sys())
			if v.Principal == nil {
				t.Fatal("no principal")
			}
			if v.Principal.Kind != store.PrincipalSystemAssigned || v.Principal.ResourceID != id || v.Principal.DisplayName != "vm1" {
				t.Errorf("principal = %+v", *v.Principal)
			}
			if v.Principal.AppID == "" || v.Principal.AppID == v.Principal.ObjectID {
				t.Errorf("app ID %q must be its own GUID", v.Principal.AppID)
			}
		}},
		{"rewriting with SystemAssigned keeps the same principal", func(t *testing.T, f *fixture) {
			f.group("rg1")
			id := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			first := f.put(id, sys())
			second := f.put(id, sys())
			third := f.patch(id, nil)
			if second.Principal.ObjectID != first.Principal.ObjectID || third.Principal.ObjectID != first.Principal.ObjectID {
				t.Errorf("principal changed: %s, %s, %s", first.Principal.ObjectID, second.Principal.ObjectID, third.Principal.ObjectID)
			}
		}},
		{"disabling SystemAssigned deletes the principal and its assignments; re-enabling makes a new one", func(t *testing.T, f *fixture) {
			f.group("rg1")
			id := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			first := f.put(id, sys())
			ra := f.assign(first.Principal.ObjectID, resources.ResourceGroupID(f.sub, "rg1"))
			off := f.patch(id, &resources.IdentitySpec{Type: "None"})
			if off.Principal != nil || off.PrincipalID != "" {
				t.Fatalf("still has a principal: %+v", off.Principal)
			}
			if f.principalExists(first.Principal.ObjectID) || f.assignmentExists(ra) {
				t.Error("principal or its assignment survived")
			}
			again := f.patch(id, sys())
			if again.Principal == nil || again.Principal.ObjectID == first.Principal.ObjectID || again.Principal.AppID == first.Principal.AppID {
				t.Errorf("re-enabled principal must be new: %+v", again.Principal)
			}
		}},
		{"PUT without identity removes the system-assigned identity", func(t *testing.T, f *fixture) {
			f.group("rg1")
			id := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			first := f.put(id, sys())
			if v := f.put(id, nil); v.Principal != nil {
				t.Fatal("PUT without identity kept the principal")
			}
			if f.principalExists(first.Principal.ObjectID) {
				t.Error("principal survived")
			}
		}},
		{"deleting a resource deletes its principal, assignments under it and its children, and only detaches identities", func(t *testing.T, f *fixture) {
			rg := f.group("rg1")
			uami := f.identity("rg1", "id1")
			site := f.resourceID("rg1", "Microsoft.Web/sites/app1")
			slot := site + "/slots/staging"
			other := f.resourceID("rg1", "Microsoft.Web/sites/app10")
			v := f.put(site, both(uami.ID))
			s := f.put(slot, both(uami.ID))
			f.put(other, nil)
			sp := f.servicePrincipal()
			raSite := f.assign(sp, site)
			raSlot := f.assign(sp, slot)
			raOther := f.assign(sp, other)
			raRG := f.assign(sp, rg)
			raUAMI := f.assign(uami.PrincipalID, rg)

			existed, err := f.svc.DeleteResource(f.ctx, actor, site)
			if err != nil || !existed {
				t.Fatalf("DeleteResource = %v, %v", existed, err)
			}
			for _, id := range []string{site, slot} {
				if f.resourceExists(id) {
					t.Errorf("%s survived", id)
				}
			}
			for _, p := range []string{v.Principal.ObjectID, s.Principal.ObjectID} {
				if f.principalExists(p) {
					t.Errorf("system principal %s survived", p)
				}
			}
			for _, ra := range []string{raSite, raSlot} {
				if f.assignmentExists(ra) {
					t.Errorf("assignment %s under the resource survived", ra)
				}
			}
			for _, ra := range []string{raOther, raRG, raUAMI} {
				if !f.assignmentExists(ra) {
					t.Errorf("assignment %s outside the resource was deleted", ra)
				}
			}
			if !f.resourceExists(uami.ID) || !f.principalExists(uami.PrincipalID) {
				t.Error("the attached user-assigned identity must survive")
			}
			if existed, err := f.svc.DeleteResource(f.ctx, actor, site); err != nil || existed {
				t.Errorf("second delete = %v, %v; want false, nil", existed, err)
			}
		}},
		{"deleting a group deletes everything in it and nothing outside", func(t *testing.T, f *fixture) {
			rg1 := f.group("rg1")
			rg10 := f.group("rg10")
			inside := f.identity("rg1", "inside")
			outside := f.identity("rg10", "outside")
			vm := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			disk := vm + "/extensions/ext1"
			keep := f.resourceID("rg10", "Microsoft.Compute/virtualMachines/vm2")
			vmView := f.put(vm, both(inside.ID, outside.ID))
			f.put(disk, sys())
			// A resource in another group holding the identity being deleted.
			keepView := f.put(keep, both(inside.ID, outside.ID))
			sp := f.servicePrincipal()
			ras := map[string]bool{
				f.assign(sp, rg1):                           false,
				f.assign(sp, vm):                            false,
				f.assign(inside.PrincipalID, rg10):          false,
				f.assign(vmView.Principal.ObjectID, "/"):    false,
				f.assign(sp, rg10):                          true,
				f.assign(outside.PrincipalID, rg10):         true,
				f.assign(keepView.Principal.ObjectID, keep): true,
			}
			f.update(func(tx store.Tx) error {
				_, err := tx.PutFederatedCredential(f.ctx, store.FederatedCredential{IdentityID: inside.ID, Name: "fic1", Issuer: "https://issuer", Subject: "s", Audiences: []string{"api://AzureADTokenExchange"}})
				return err
			})

			if err := f.svc.DeleteResourceGroup(f.ctx, actor, f.sub, "RG1"); err != nil {
				t.Fatalf("DeleteResourceGroup: %v", err)
			}
			for _, id := range []string{vm, disk, inside.ID} {
				if f.resourceExists(id) {
					t.Errorf("%s survived", id)
				}
			}
			if f.principalExists(inside.PrincipalID) || f.principalExists(vmView.Principal.ObjectID) {
				t.Error("principals of deleted resources survived")
			}
			for ra, kept := range ras {
				if f.assignmentExists(ra) != kept {
					t.Errorf("assignment %s exists = %v, want %v", ra, !kept, kept)
				}
			}
			got := f.stored(keep).UserAssignedIdentities
			if len(got) != 1 || !strings.EqualFold(got[0], outside.ID) {
				t.Errorf("holder outside the group has identities %v, want only %s", got, outside.ID)
			}
			if _, err := f.svc.GetResourceGroup(f.ctx, f.sub, "rg1"); !isCode(err, resources.CodeResourceGroupNotFound) {
				t.Errorf("GetResourceGroup after delete: %v", err)
			}
		}},
		{"deleting an identity detaches it from every holder and deletes its credentials, assignments and principal", func(t *testing.T, f *fixture) {
			f.group("rg1")
			f.group("rg2")
			a := f.identity("rg1", "ida")
			b := f.identity("rg2", "idb")
			var holders []string
			for i, path := range []string{"Microsoft.Web/sites/s1", "Microsoft.Compute/virtualMachines/v1", "Microsoft.Web/sites/s1/slots/x"} {
				group := []string{"rg1", "rg2", "rg1"}[i]
				id := f.resourceID(group, path)
				f.put(id, user(a.ID, b.ID))
				holders = append(holders, id)
			}
			onlyA := f.resourceID("rg2", "Microsoft.Web/sites/only-a")
			f.put(onlyA, both(a.ID))
			ra := f.assign(a.PrincipalID, "/subscriptions/"+f.sub)
			if _, _, err := f.svc.PutFederatedCredential(f.ctx, resources.FederatedCredentialSpec{
				Identity: resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: "rg1", Name: "ida"}, Name: "fic1",
				Issuer: "https://issuer.example", Subject: "sub", Audiences: []string{"api://AzureADTokenExchange"},
			}); err != nil {
				t.Fatal(err)
			}
			existed, err := f.svc.DeleteUserAssignedIdentity(f.ctx, actor, resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: "RG1", Name: "IDA"})
			if err != nil || !existed {
				t.Fatalf("DeleteUserAssignedIdentity = %v, %v", existed, err)
			}
			for _, h := range holders {
				if got := f.stored(h).UserAssignedIdentities; len(got) != 1 || !strings.EqualFold(got[0], b.ID) {
					t.Errorf("%s holds %v, want only b", h, got)
				}
			}
			v, err := f.svc.GetResource(f.ctx, onlyA)
			if err != nil {
				t.Fatal(err)
			}
			if len(v.UserAssigned) != 0 || v.Principal == nil {
				t.Errorf("holder of only a: identities %v, system %v; want none and kept", v.UserAssigned, v.Principal)
			}
			if f.principalExists(a.PrincipalID) || f.assignmentExists(ra) {
				t.Error("identity principal or its assignment survived")
			}
			// A new identity under the same name starts clean.
			again := f.identity("rg1", "ida")
			creds, err := f.svc.ListFederatedCredentials(f.ctx, resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: "rg1", Name: "ida"})
			if err != nil || len(creds) != 0 {
				t.Errorf("credentials of the recreated identity = %v, %v", creds, err)
			}
			if again.PrincipalID == a.PrincipalID {
				t.Error("recreated identity reused the principal")
			}
			if existed, err := f.svc.DeleteUserAssignedIdentity(f.ctx, actor, resources.IdentityRef{SubscriptionID: f.sub, ResourceGroup: "rg1", Name: "missing"}); err != nil || existed {
				t.Errorf("delete of a missing identity = %v, %v", existed, err)
			}
		}},
		{"an identity can be created and granted roles before anything uses it", func(t *testing.T, f *fixture) {
			f.group("rg1")
			u := f.identity("rg1", "pre")
			ra := f.assign(u.PrincipalID, "/subscriptions/"+f.sub)
			vm := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/later")
			v := f.put(vm, user(u.ID))
			if len(v.UserAssigned) != 1 || v.UserAssigned[0].PrincipalID != u.PrincipalID || v.UserAssigned[0].ClientID != u.Principal.AppID {
				t.Errorf("attached = %+v", v.UserAssigned)
			}
			if !f.assignmentExists(ra) {
				t.Error("pre-authorization lost")
			}
		}},
		{"both identity types on one resource, then PATCH removes one identity with null", func(t *testing.T, f *fixture) {
			f.group("rg1")
			a, b := f.identity("rg1", "ida"), f.identity("rg1", "idb")
			id := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			v := f.put(id, both(a.ID, b.ID))
			if v.Principal == nil || len(v.UserAssigned) != 2 {
				t.Fatalf("view = %+v", v)
			}
			v = f.patch(id, &resources.IdentitySpec{Type: "SystemAssigned, UserAssigned", UserAssigned: map[string]bool{b.ID: false}})
			if got := ids(v); !slices.Equal(got, []string{strings.ToLower(a.ID)}) || v.Principal == nil {
				t.Errorf("after removing b: %v, system %v", got, v.Principal != nil)
			}
			// Absent keys are kept, {} adds.
			v = f.patch(id, &resources.IdentitySpec{Type: "SystemAssigned,UserAssigned", UserAssigned: map[string]bool{b.ID: true}})
			if got := ids(v); len(got) != 2 {
				t.Errorf("after re-adding b: %v", got)
			}
			// A type without UserAssigned detaches all.
			v = f.patch(id, &resources.IdentitySpec{Type: "systemassigned"})
			if len(v.UserAssigned) != 0 || v.Principal == nil {
				t.Errorf("after SystemAssigned only: %v", ids(v))
			}
			// PUT is the full desired state.
			v = f.put(id, user(b.ID))
			if got := ids(v); !slices.Equal(got, []string{strings.ToLower(b.ID)}) || v.Principal != nil {
				t.Errorf("after PUT b only: %v, system %v", got, v.Principal != nil)
			}
		}},
		{"attaching a missing identity fails and writes nothing", func(t *testing.T, f *fixture) {
			f.group("rg1")
			a := f.identity("rg1", "ida")
			id := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			missing := strings.Replace(a.ID, "/ida", "/nope", 1)
			_, _, err := f.svc.PutResource(f.ctx, resources.ResourceSpec{ID: id, Identity: both(a.ID, missing)}, resources.WriteOptions{Actor: actor})
			if !isCode(err, resources.CodeFailedIdentityOperation) || !strings.Contains(err.Error(), missing) {
				t.Fatalf("err = %v", err)
			}
			if f.resourceExists(id) {
				t.Error("resource was written")
			}
			var ps []store.Principal
			f.view(func(tx store.Tx) error {
				var err error
				ps, err = tx.ListPrincipals(f.ctx, store.PrincipalFilter{Kind: store.PrincipalSystemAssigned})
				return err
			})
			if len(ps) != 0 {
				t.Errorf("a system principal was created: %v", ps)
			}
		}},
		{"CanAssign is asked only for newly attached identities", func(t *testing.T, f *fixture) {
			f.group("rg1")
			a, b := f.identity("rg1", "ida"), f.identity("rg1", "idb")
			id := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
			f.put(id, user(a.ID))
			var asked []string
			opt := resources.WriteOptions{Actor: actor, CanAssign: func(id string) bool { asked = append(asked, id); return !strings.HasSuffix(id, "/idb") }}
			_, err := f.svc.PatchResource(f.ctx, resources.ResourceSpec{ID: id, Identity: user(b.ID)}, opt)
			var linked *resources.LinkedAuthorizationError
			if !errors.As(err, &linked) || len(linked.Scopes) != 1 || linked.Scopes[0] != b.ID {
				t.Fatalf("err = %v", err)
			}
			if len(asked) != 1 || asked[0] != b.ID {
				t.Errorf("asked about %v, want only b", asked)
			}
			// Detaching a needs no assign permission.
			asked = nil
			if _, _, err := f.svc.PutResource(f.ctx, resources.ResourceSpec{ID: id}, resources.WriteOptions{CanAssign: opt.CanAssign}); err != nil || len(asked) != 0 {
				t.Errorf("detach: err %v, asked %v", err, asked)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.run(t, f)
			f.checkInvariants()
		})
	}
}

func isCode(err error, code string) bool {
	var (
		nf *resources.NotFoundError
		ve *resources.ValidationError
		ce *resources.ConflictError
	)
	switch {
	case errors.As(err, &nf):
		return nf.Code == code
	case errors.As(err, &ve):
		return ve.Code == code
	case errors.As(err, &ce):
		return ce.Code == code
	}
	return false
}

func TestDeletingAResourceDeletesItsAgents(t *testing.T) {
	f := newFixture(t)
	f.group("rg1")
	vm := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm1")
	other := f.resourceID("rg1", "Microsoft.Compute/virtualMachines/vm2")
	f.put(vm, nil)
	f.put(other, nil)
	f.update(func(tx store.Tx) error {
		for id, res := range map[string]string{"agent-vm1": vm, "agent-vm2": other} {
			if err := tx.CreateAgent(f.ctx, store.Agent{ID: id, ResourceID: strings.ToUpper(res[:1]) + res[1:], CreatedAt: time.Now()}); err != nil {
				return err
			}
		}
		return nil
	})
	if _, err := f.svc.DeleteResource(f.ctx, actor, vm); err != nil {
		t.Fatal(err)
	}
	f.view(func(tx store.Tx) error {
		if _, err := tx.GetAgent(f.ctx, "agent-vm1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the agent of the deleted resource survived: %v", err)
		}
		if _, err := tx.GetAgent(f.ctx, "agent-vm2"); err != nil {
			t.Errorf("another resource's agent was deleted: %v", err)
		}
		return nil
	})
}
