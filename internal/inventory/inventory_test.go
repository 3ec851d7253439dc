package inventory_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/authz"
	"github.com/keyless-io/keyless/internal/inventory"
	"github.com/keyless-io/keyless/internal/review"
	"github.com/keyless-io/keyless/internal/store"
)

const (
	rg     = "/subscriptions/s1/resourceGroups/rg1"
	uamiID = rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-web"
	siteID = rg + "/providers/Microsoft.Web/sites/web1"
)

var now = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func facts() *review.Facts {
	return &review.Facts{
		Roles: authz.BuiltinRoles(),
		Principals: []store.Principal{
			{ObjectID: "p-uami", AppID: "c-uami", DisplayName: "id-web", Kind: store.PrincipalUserAssigned, ResourceID: uamiID},
			{ObjectID: "p-site", AppID: "c-site", DisplayName: "web1", Kind: store.PrincipalSystemAssigned, ResourceID: siteID},
			{ObjectID: "p-sp", AppID: "c-sp", DisplayName: "ci-deployer", Kind: store.PrincipalServicePrincipal},
			{ObjectID: "g-1", DisplayName: "readers", Kind: store.PrincipalGroup},
			{ObjectID: "p-other", Kind: store.PrincipalUserAssigned, ResourceID: "/subscriptions/s2/resourceGroups/x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/other"},
		},
		Attachments: []store.Attachment{{ResourceID: siteID, ResourceType: "Microsoft.Web/sites", IdentityID: uamiID}},
		Assignments: []store.RoleAssignment{
			{Name: "a1", PrincipalID: "p-uami", RoleDefinitionID: authz.RoleKeyVaultSecretsUser, Scope: rg},
			{Name: "a2", PrincipalID: "g-1", RoleDefinitionID: authz.RoleReader, Scope: rg},
			{Name: "a3", PrincipalID: "p-sp", RoleDefinitionID: authz.RoleContributor, Scope: rg},
		},
		GroupsOf: map[string][]string{"p-site": {"g-1"}},
		FederatedCredentials: map[string][]store.FederatedCredential{strings.ToLower(uamiID): {
			{IdentityID: uamiID, Name: "gh", Issuer: "https://token.actions.githubusercontent.com", Subject: "repo:acme/web:ref:refs/heads/main", Audiences: []string{"api://AzureADTokenExchange"}}}},
		Usage: store.Usage{Tokens: []store.TokenUsage{{PrincipalID: "p-uami", Audience: "https://vault.azure.net", Count: 7, Last: now.Add(-time.Hour)}}},
	}
}

func TestBuildDocumentsWhoCanDoWhat(t *testing.T) {
	inv := inventory.Build(facts(), "/subscriptions/s1", now)
	if len(inv.Identities) != 3 {
		t.Fatalf("%d identities, want the UAMI, the site's identity and the SP (not the other subscription's)", len(inv.Identities))
	}
	byName := map[string]inventory.Identity{}
	for _, id := range inv.Identities {
		byName[id.Name] = id
	}
	u := byName["id-web"]
	if len(u.AttachedTo) != 1 || u.AttachedTo[0] != siteID || len(u.RoleAssignments) != 1 || u.RoleAssignments[0].RoleName != "Key Vault Secrets User" ||
		len(u.FederatedCredentials) != 1 || len(u.LastUse) != 1 || u.LastUse[0].Count != 7 {
		t.Fatalf("UAMI %+v", u)
	}
	s := byName["web1"]
	if len(s.RoleAssignments) != 1 || s.RoleAssignments[0].Via != "group readers" || s.RoleAssignments[0].RoleName != "Reader" {
		t.Fatalf("system-assigned %+v", s)
	}
}

func TestRenderings(t *testing.T) {
	inv := inventory.Build(facts(), "/", now)
	md := string(inv.Markdown())
	for _, want := range []string{"## Subscription `s1`", "### Resource group `rg1`", "#### id-web (user-assigned identity)", "| Key Vault Secrets User | `" + rg + "` | direct |", "| gh |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	rows, err := csv.NewReader(bytes.NewReader(inv.CSV())).ReadAll()
	if err != nil || len(rows) < 4 || rows[0][0] != "kind" {
		t.Fatalf("csv: %v %v", rows, err)
	}
	dot := string(inv.DOT())
	if !strings.HasPrefix(dot, "digraph inventory {") || !strings.Contains(dot, `label="Reader (group readers)"`) || !strings.Contains(dot, "runs as") {
		t.Errorf("dot:\n%s", dot)
	}
	page := string(inv.HTML())
	if !strings.Contains(page, "<svg") || !strings.Contains(page, "id-web") {
		t.Errorf("html lacks the graph or the tables")
	}
	for _, external := range []string{"<script", "<link", "src=\"http", "href=\"http", "@import"} {
		if strings.Contains(page, external) {
			t.Errorf("html page is not self-contained: it has %q", external)
		}
	}
}
