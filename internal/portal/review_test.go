package portal_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/chromedp/chromedp"

	"github.com/keyless-io/keyless/internal/store"
)

// backdate makes a principal look created long ago, so that the review
// judges it by use (one newer than the window is too new to judge).
func backdate(t *testing.T, f fixture, objectID string) {
	t.Helper()
	st := f.env.Server.Installation().Store
	rev, err := st.Update(context.Background(), func(tx store.Tx) error {
		return tx.UpdatePrincipal(context.Background(), objectID, func(p store.Principal) (store.Principal, error) {
			p.CreatedAt = time.Now().Add(-200 * 24 * time.Hour)
			return p, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.env.Server.WaitFor(context.Background(), rev); err != nil {
		t.Fatal(err)
	}
}

// TestPortalAppliesReviewFinding: an identity nobody has used since long
// ago is an unused-identity finding on the Access review page; Apply asks
// first (Cancel leaves the identity alone), and confirming deletes it,
// checked through the armmsi SDK.
func TestPortalAppliesReviewFinding(t *testing.T) {
	f := setUp(t)
	ctx := context.Background()
	ids, err := armmsi.NewUserAssignedIdentitiesClient(f.sub, f.env.AdminCredential(t), f.env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	created, err := ids.CreateOrUpdate(ctx, f.group, "id-idle", armmsi.Identity{Location: to.Ptr("westeurope")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	backdate(t, f, *created.Properties.PrincipalID)
	exists := func() bool {
		t.Helper()
		_, err := ids.Get(ctx, f.group, "id-idle", nil)
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		return true
	}

	b := newBrowser(t, f.env)
	b.signIn(f.creds, false)
	apply := `//li[contains(@class,"finding")][.//strong[normalize-space()="unused-identity"] and contains(., "id-idle")]//button[normalize-space()="Apply"]`
	b.open("/portal/review?scope=" + f.rg)
	b.run(chromedp.WaitVisible(apply, chromedp.BySearch))
	b.shot("review-finding")

	// Apply without confirming: the question, then Cancel; nothing changes.
	b.run(chromedp.Click(apply, chromedp.BySearch))
	if detail := b.text("#confirm-detail"); !strings.Contains(detail, "keyless identity delete -g "+f.group+" -n id-idle") {
		t.Fatalf("the confirmation says %q", detail)
	}
	b.shot("review-apply-confirm")
	b.run(chromedp.Click(`//section[contains(@class,"confirm")]//a[normalize-space()="Cancel"]`, chromedp.BySearch),
		chromedp.WaitVisible(apply, chromedp.BySearch))
	if !exists() {
		t.Fatal("the identity is gone although the fix was not confirmed")
	}

	// Apply, confirmed: the identity is deleted.
	b.run(chromedp.Click(apply, chromedp.BySearch))
	b.confirm("Apply")
	if msg := b.flash(); !strings.HasPrefix(msg, "Applied:") {
		t.Fatalf("after Apply: %q", msg)
	}
	if exists() {
		t.Fatal("the identity is still there after applying the unused-identity fix")
	}
	var left int
	b.run(chromedp.Evaluate(`document.querySelectorAll('li.finding').length === 0 ? 0 :
		Array.from(document.querySelectorAll('li.finding')).filter(li => li.textContent.includes('id-idle')).length`, &left))
	if left != 0 {
		t.Fatalf("the review still shows %d findings for id-idle", left)
	}
}
