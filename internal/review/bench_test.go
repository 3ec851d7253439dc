package review_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/inventory"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
)

// bigFacts is 100,000 user-assigned identities in 1,000 groups with
// 1,000,000 role assignments (ten each: Reader on their group and nine
// resource scopes), a tenth of them used in the window.
func bigFacts(b *testing.B) *review.Facts {
	b.Helper()
	f := &review.Facts{Roles: authz.BuiltinRoles(), Credentials: map[string][]store.Credential{},
		FederatedCredentials: map[string][]store.FederatedCredential{}, GroupsOf: map[string][]string{}, FederationUse: map[string]time.Time{}}
	roles := []string{authz.RoleReader, authz.RoleContributor, authz.RoleManagedIdentityOperator, authz.RoleKeyVaultSecretsUser}
	for i := 0; i < 100_000; i++ {
		group := fmt.Sprintf("%s/resourceGroups/rg-%d", sub, i%1000)
		oid := fmt.Sprintf("00000000-0000-0000-0000-%012d", i)
		id := fmt.Sprintf("%s/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-%d", group, i)
		f.Principals = append(f.Principals, store.Principal{ObjectID: oid, Kind: store.PrincipalUserAssigned, ResourceID: id, DisplayName: fmt.Sprintf("id-%d", i), CreatedAt: old})
		f.Attachments = append(f.Attachments, store.Attachment{ResourceID: fmt.Sprintf("%s/providers/Microsoft.Web/sites/web-%d", group, i), ResourceType: "Microsoft.Web/sites", IdentityID: id})
		for k := 0; k < 10; k++ {
			scope := group
			if k > 0 {
				scope = fmt.Sprintf("%s/providers/Microsoft.Web/sites/web-%d-%d", group, i, k)
			}
			f.Assignments = append(f.Assignments, store.RoleAssignment{Name: fmt.Sprintf("a-%d-%d", i, k), PrincipalID: oid,
				RoleDefinitionID: roles[(i+k)%len(roles)], Scope: scope, CreatedAt: old})
		}
		if i%10 == 0 {
			f.Usage.Tokens = append(f.Usage.Tokens, store.TokenUsage{PrincipalID: oid, Audience: "https://management.azure.com/", Count: 1, Last: recent})
			f.Usage.Actions = append(f.Usage.Actions, store.ActionUsage{PrincipalID: oid, Action: "Microsoft.Web/sites/read", Scope: group + "/providers/Microsoft.Web/sites/x", Count: 1, Last: recent})
		}
	}
	return f
}

// cpuSeconds is the process's CPU time: on a shared machine it is what a
// benchmark costs, where wall time also counts other processes' turns.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func BenchmarkReview100kIdentities1MAssignments(b *testing.B) {
	f := bigFacts(b)
	b.ResetTimer()
	start, n := cpuSeconds(), 0
	for b.Loop() {
		n++
		if got := review.Evaluate(f, review.Options{Scope: "/", Now: now}); len(got) == 0 {
			b.Fatal("no findings")
		}
	}
	b.ReportMetric((cpuSeconds()-start)/float64(n), "cpu-s/op")
}

func BenchmarkInventory100kIdentities1MAssignments(b *testing.B) {
	f := bigFacts(b)
	b.ResetTimer()
	start, n := cpuSeconds(), 0
	for b.Loop() {
		n++
		if inv := inventory.Build(f, "/", now); len(inv.Identities) != 100_000 {
			b.Fatalf("%d identities", len(inv.Identities))
		}
	}
	b.ReportMetric((cpuSeconds()-start)/float64(n), "cpu-s/op")
}
