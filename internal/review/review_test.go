package review_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
)

const (
	sub = "/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	rg  = sub + "/resourceGroups/rg1"
)

var (
	now     = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	old     = now.Add(-200 * 24 * time.Hour)
	recent  = now.Add(-2 * 24 * time.Hour)
	uamiID  = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	siteID  = rg + "/providers/Microsoft.Web/sites/web1"
	vmID    = rg + "/providers/Microsoft.Compute/virtualMachines/vm1"
	uamiOID = "11111111-0000-0000-0000-000000000001"
	spOID   = "22222222-0000-0000-0000-000000000002"
	siteOID = "33333333-0000-0000-0000-000000000003"
)

func uami(created time.Time) store.Principal {
	return store.Principal{ObjectID: uamiOID, AppID: "app-uami", DisplayName: "id1", Kind: store.PrincipalUserAssigned, ResourceID: uamiID, CreatedAt: created}
}

func sp(created time.Time) store.Principal {
	return store.Principal{ObjectID: spOID, AppID: "app-sp", DisplayName: "deployer", Kind: store.PrincipalServicePrincipal, CreatedAt: created}
}

func assignment(name, principal, role, scope string, created time.Time) store.RoleAssignment {
	return store.RoleAssignment{Name: name, PrincipalID: principal, RoleDefinitionID: role, Scope: scope, PrincipalType: "ServicePrincipal", CreatedAt: created}
}

func tokens(principal string, last time.Time) store.TokenUsage {
	return store.TokenUsage{PrincipalID: principal, Audience: "https://management.azure.com/", Day: last.Truncate(24 * time.Hour), Count: 3, First: last, Last: last}
}

func action(principal, act, scope string, last time.Time) store.ActionUsage {
	return store.ActionUsage{PrincipalID: principal, Action: act, Scope: scope, Count: 5, First: last, Last: last}
}

func facts() *review.Facts {
	return &review.Facts{Roles: authz.BuiltinRoles(), Credentials: map[string][]store.Credential{},
		FederatedCredentials: map[string][]store.FederatedCredential{}, GroupsOf: map[string][]string{}, FederationUse: map[string]time.Time{}}
}

func run(f *review.Facts) []review.Finding {
	return review.Evaluate(f, review.Options{Scope: "/", Now: now})
}

func byRule(fs []review.Finding, rule string) []review.Finding {
	var out []review.Finding
	for _, f := range fs {
		if f.Rule == rule {
			out = append(out, f)
		}
	}
	return out
}

func TestRules(t *testing.T) {
	tests := []struct {
		name  string
		build func(f *review.Facts)
		rule  string
		want  int
		check func(t *testing.T, got []review.Finding)
	}{
		{"an identity never used is unused", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.Assignments = []store.RoleAssignment{assignment("a1", uamiOID, authz.RoleReader, rg, old)}
		}, review.RuleUnusedIdentity, 1, func(t *testing.T, got []review.Finding) {
			if got[0].Fix != "keyless identity delete -g rg1 -n id1" {
				t.Errorf("fix %q", got[0].Fix)
			}
		}},
		{"an identity used within the window is not", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.Assignments = []store.RoleAssignment{assignment("a1", uamiOID, authz.RoleReader, rg, old)}
			f.Usage.Tokens = []store.TokenUsage{tokens(uamiOID, recent)}
		}, review.RuleUnusedIdentity, 0, nil},
		{"an identity made yesterday is too new to judge", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(recent)}
		}, review.RuleUnusedIdentity, 0, nil},
		{"an Owner that only ever read is advised Reader", func(f *review.Facts) {
			f.Principals = []store.Principal{sp(old)}
			f.Assignments = []store.RoleAssignment{assignment("a-owner", spOID, authz.RoleOwner, rg, old)}
			f.Usage.Tokens = []store.TokenUsage{tokens(spOID, recent)}
			f.Usage.Actions = []store.ActionUsage{action(spOID, "Microsoft.Web/sites/read", siteID, recent),
				action(spOID, "Microsoft.Resources/subscriptions/resourceGroups/read", rg, recent)}
		}, review.RuleExcessPermissions, 1, func(t *testing.T, got []review.Finding) {
			if !strings.Contains(got[0].Recommendation, "with Reader") || !strings.Contains(got[0].Fix, "--role "+authz.RoleReader) {
				t.Errorf("advice %q, fix %q", got[0].Recommendation, got[0].Fix)
			}
		}},
		{"an Owner is privileged", func(f *review.Facts) {
			f.Principals = []store.Principal{sp(old)}
			f.Assignments = []store.RoleAssignment{assignment("a-owner", spOID, authz.RoleOwner, rg, old)}
		}, review.RulePrivilegedRole, 1, func(t *testing.T, got []review.Finding) {
			if got[0].Severity != review.High {
				t.Errorf("severity %s", got[0].Severity)
			}
		}},
		{"an assignment whose actions were never exercised is unused", func(f *review.Facts) {
			f.Principals = []store.Principal{sp(old)}
			f.Assignments = []store.RoleAssignment{assignment("a-reader", spOID, authz.RoleReader, rg, old)}
			f.Usage.Tokens = []store.TokenUsage{tokens(spOID, recent)}
			f.Usage.Actions = []store.ActionUsage{action(spOID, "Microsoft.Web/sites/read", sub+"/resourceGroups/other/providers/Microsoft.Web/sites/x", recent)}
		}, review.RuleUnusedAssignment, 1, func(t *testing.T, got []review.Finding) {
			if got[0].Fix != "keyless role assignment delete --ids "+rg+"/providers/Microsoft.Authorization/roleAssignments/a-reader" {
				t.Errorf("fix %q", got[0].Fix)
			}
		}},
		{"a Reader that reads is fine", func(f *review.Facts) {
			f.Principals = []store.Principal{sp(old)}
			f.Assignments = []store.RoleAssignment{assignment("a-reader", spOID, authz.RoleReader, rg, old)}
			f.Usage.Actions = []store.ActionUsage{action(spOID, "Microsoft.Web/sites/read", siteID, recent)}
		}, review.RuleExcessPermissions, 0, nil},
		{"a data-plane role is not judged by control-plane use", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.Assignments = []store.RoleAssignment{assignment("a-kv", uamiOID, authz.RoleKeyVaultSecretsUser, rg, old)}
		}, review.RuleUnusedAssignment, 0, nil},
		{"an assignment at a subscription is broad", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.Assignments = []store.RoleAssignment{assignment("a-sub", uamiOID, authz.RoleReader, sub, old)}
		}, review.RuleBroadScope, 1, nil},
		{"an assignment at a group is not broad", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.Assignments = []store.RoleAssignment{assignment("a-rg", uamiOID, authz.RoleReader, rg, old)}
		}, review.RuleBroadScope, 0, nil},
		{"a UAMI on a site and a VM is shared", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.Attachments = []store.Attachment{
				{ResourceID: siteID, ResourceType: "Microsoft.Web/sites", IdentityID: uamiID},
				{ResourceID: vmID, ResourceType: "Microsoft.Compute/virtualMachines", IdentityID: strings.ToUpper(uamiID)},
			}
		}, review.RuleSharedIdentity, 1, func(t *testing.T, got []review.Finding) {
			if len(got[0].ResourceIDs) != 2 {
				t.Errorf("resources %v", got[0].ResourceIDs)
			}
		}},
		{"a UAMI on three instances of one app is not shared", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			for _, n := range []string{"a", "b", "c"} {
				f.Attachments = append(f.Attachments, store.Attachment{ResourceID: rg + "/providers/Microsoft.Web/sites/" + n, ResourceType: "Microsoft.Web/sites", IdentityID: uamiID})
			}
		}, review.RuleSharedIdentity, 0, nil},
		{"a secret close to expiry", func(f *review.Facts) {
			f.Principals = []store.Principal{sp(old)}
			f.Credentials[spOID] = []store.Credential{{ID: "c1", PrincipalID: spOID, Kind: store.CredentialSecret, Hint: "abc", CreatedAt: recent, NotAfter: now.Add(10 * 24 * time.Hour)}}
		}, review.RuleSecretCredential, 1, func(t *testing.T, got []review.Finding) {
			if got[0].Severity != review.Medium || !strings.Contains(got[0].Evidence, "within 30 days") {
				t.Errorf("%s: %s", got[0].Severity, got[0].Evidence)
			}
		}},
		{"an expired and a year-old secret", func(f *review.Facts) {
			f.Principals = []store.Principal{sp(old)}
			f.Credentials[spOID] = []store.Credential{
				{ID: "c1", PrincipalID: spOID, Kind: store.CredentialSecret, Hint: "a", CreatedAt: old, NotAfter: now.Add(-time.Hour)},
				{ID: "c2", PrincipalID: spOID, Kind: store.CredentialSecret, Hint: "b", CreatedAt: now.Add(-400 * 24 * time.Hour), NotAfter: now.Add(300 * 24 * time.Hour)},
			}
		}, review.RuleSecretCredential, 2, nil},
		{"a certificate is not a secret", func(f *review.Facts) {
			f.Principals = []store.Principal{sp(old)}
			f.Credentials[spOID] = []store.Credential{{ID: "c1", PrincipalID: spOID, Kind: store.CredentialCertificate, CreatedAt: old, NotAfter: now.Add(time.Hour)}}
		}, review.RuleSecretCredential, 0, nil},
		{"an identity with no role anywhere", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(recent)}
		}, review.RuleNoAssignments, 1, nil},
		{"a role through a group counts", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(recent)}
			f.GroupsOf[uamiOID] = []string{"group-1"}
		}, review.RuleNoAssignments, 0, nil},
		{"a federated credential never used is stale", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.FederatedCredentials[strings.ToLower(uamiID)] = []store.FederatedCredential{{IdentityID: uamiID, Name: "gh", Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:a/b", CreatedAt: old}}
		}, review.RuleStaleFederatedCredential, 1, func(t *testing.T, got []review.Finding) {
			if got[0].Fix != "keyless identity federated-credential delete -g rg1 --identity-name id1 -n gh" {
				t.Errorf("fix %q", got[0].Fix)
			}
		}},
		{"a federated credential used last week is not", func(f *review.Facts) {
			f.Principals = []store.Principal{uami(old)}
			f.FederatedCredentials[strings.ToLower(uamiID)] = []store.FederatedCredential{{IdentityID: uamiID, Name: "gh", CreatedAt: old}}
			f.FederationUse[strings.ToLower(uamiID+"/gh")] = recent
		}, review.RuleStaleFederatedCredential, 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := facts()
			tc.build(f)
			got := byRule(run(f), tc.rule)
			if len(got) != tc.want {
				t.Fatalf("%d %s findings, want %d: %+v", len(got), tc.rule, tc.want, got)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}

func TestFindingIDsAreStableAndScopeLimitsTheReview(t *testing.T) {
	f := facts()
	f.Principals = []store.Principal{uami(old), {ObjectID: siteOID, Kind: store.PrincipalSystemAssigned, ResourceID: sub + "/resourceGroups/other/providers/Microsoft.Web/sites/w", CreatedAt: old}}
	a, b := run(f), run(f)
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d and %d findings", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			t.Fatalf("finding IDs differ between runs: %s %s", a[i].ID, b[i].ID)
		}
	}
	for _, fd := range review.Evaluate(f, review.Options{Scope: rg, Now: now}) {
		if fd.PrincipalID == siteOID {
			t.Fatalf("a principal outside the scope was reviewed: %+v", fd)
		}
	}
}

func TestNoBuiltinRoleFitsSoACustomRoleIsProposed(t *testing.T) {
	f := facts()
	f.Principals = []store.Principal{sp(old)}
	f.Assignments = []store.RoleAssignment{assignment("a-mic", spOID, authz.RoleManagedIdentityContributor, rg, old)}
	f.Usage.Actions = []store.ActionUsage{action(spOID, "Microsoft.ManagedIdentity/userAssignedIdentities/write", uamiID, recent)}
	got := byRule(run(f), review.RuleExcessPermissions)
	if len(got) != 1 || got[0].CustomRole == nil {
		t.Fatalf("want a custom role proposal, got %+v", got)
	}
}

// A large installation is weighed in parallel chunks; the findings must be
// the same, in the same order, run after run.
func TestParallelEvaluationIsDeterministic(t *testing.T) {
	f := facts()
	for i := 0; i < 12000; i++ {
		oid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		f.Principals = append(f.Principals, store.Principal{ObjectID: oid, Kind: store.PrincipalUserAssigned, CreatedAt: old,
			ResourceID: fmt.Sprintf("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", rg, i)})
		f.Assignments = append(f.Assignments, assignment(fmt.Sprintf("a-%d", i), oid, authz.RoleContributor, rg, old))
		if i%3 == 0 {
			f.Usage.Tokens = append(f.Usage.Tokens, tokens(oid, recent))
		}
	}
	first := run(f)
	for k := 0; k < 3; k++ {
		again := run(f)
		if len(again) != len(first) {
			t.Fatalf("%d findings, then %d", len(first), len(again))
		}
		for i := range first {
			if first[i].ID != again[i].ID {
				t.Fatalf("finding %d differs between runs: %s, %s", i, first[i].ID, again[i].ID)
			}
		}
	}
}

// A review at a management group covers the identities of the
// subscriptions under it when given the RBAC engine's notion of "under".
func TestReviewAtAManagementGroupUsesCovers(t *testing.T) {
	f := facts()
	f.Principals = []store.Principal{uami(old)}
	mg := "/providers/Microsoft.Management/managementGroups/platform"
	byPath := review.Evaluate(f, review.Options{Scope: mg, Now: now})
	if len(byPath) != 0 {
		t.Fatalf("by paths alone, nothing is under the group: %d findings", len(byPath))
	}
	covers := func(ancestor, scope string) bool {
		if strings.EqualFold(ancestor, mg) {
			return strings.HasPrefix(strings.ToLower(scope), strings.ToLower(sub))
		}
		return authz.IsAncestorOrSelf(ancestor, scope)
	}
	if got := review.Evaluate(f, review.Options{Scope: mg, Now: now, Covers: covers}); len(byRule(got, review.RuleUnusedIdentity)) != 1 {
		t.Fatalf("with the engine's tree, the identity in a subscription under the group is reviewed: %+v", got)
	}
}
