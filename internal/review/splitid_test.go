package review_test

import (
	"strings"
	"testing"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/keyless-io/keyless/internal/review"
)

var splitIDs = []string{
	"/subscriptions/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
	"/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG-Two/providers/Microsoft.Web/sites/web1/slots/staging",
	"/subscriptions/s/resourceGroups/g",
	"/subscriptions/s",
	"/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a",
	"/providers/Microsoft.Management/managementGroups/mg1",
	"/subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/web1/",
}

// TestSplitIDAgreesWithAzcore: the short split gives the parts azcore's
// parser does, wherever that parser accepts the ID.
func TestSplitIDAgreesWithAzcore(t *testing.T) {
	for _, id := range splitIDs {
		checkSplit(t, id)
	}
}

func FuzzSplitID(f *testing.F) {
	for _, id := range splitIDs {
		f.Add(id)
	}
	f.Fuzz(checkSplit)
}

func checkSplit(t *testing.T, id string) {
	sub, group, name := review.SplitID(id)
	rid, err := azarm.ParseResourceID(id)
	if err != nil || rid.Name == "" || strings.ContainsAny(id, " \t\r\n\v\f") {
		// Compared where azcore sees a well-formed ID: it trims blanks
		// around the keywords and names nothing in an ID with a dangling
		// segment; the IDs a report splits were validated by the ARM
		// handlers and are neither. Elsewhere SplitID only must not panic.
		return
	}
	if sub != rid.SubscriptionID || group != rid.ResourceGroupName || name != rid.Name {
		t.Errorf("SplitID(%q) = %q, %q, %q; azcore: %q, %q, %q", id, sub, group, name, rid.SubscriptionID, rid.ResourceGroupName, rid.Name)
	}
}
