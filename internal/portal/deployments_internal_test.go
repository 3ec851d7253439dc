package portal

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/arm"
)

// fakeARM answers the two deployment reads with a fixed state and records
// what the portal asked, as whom.
type fakeARM struct {
	state string
	calls []string
}

func (f *fakeARM) Do(_ context.Context, caller arm.Caller, method, path, apiVersion string, _ []byte) (int, []byte, error) {
	f.calls = append(f.calls, caller.ObjectID+" "+method+" "+path+" "+apiVersion)
	const d = "/subscriptions/s1/resourcegroups/rg1/providers/Microsoft.Resources/deployments/d1"
	switch path {
	case d:
		return 200, []byte(`{"id":"` + d + `","name":"d1","properties":{"provisioningState":"` + f.state + `","mode":"Incremental"}}`), nil
	case d + "/operations":
		return 200, []byte(`{"value":[{"operationId":"op1","properties":{"provisioningOperation":"Create","provisioningState":"` + f.state +
			`","targetResource":{"id":"/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-dep","resourceName":"id-dep","resourceType":"Microsoft.ManagedIdentity/userAssignedIdentities"}}}]}`), nil
	}
	return 404, []byte(`{"error":{"code":"NotFound","message":"no"}}`), nil
}

// TestDeploymentPageRefreshesWhileRunning: one deployment's page reads
// the deployment and its operations through the ARM routes as the
// session's principal, and reloads itself (a meta refresh) only while the
// deployment is Accepted or Running.
func TestDeploymentPageRefreshesWhileRunning(t *testing.T) {
	for _, tc := range []struct {
		state   string
		refresh bool
	}{{"Accepted", true}, {"Running", true}, {"Succeeded", false}, {"Failed", false}} {
		t.Run(tc.state, func(t *testing.T) {
			fake := &fakeARM{state: tc.state}
			p, err := New(Config{ARM: fake})
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/portal/resource/subscriptions/s1/resourceGroups/rg1?blade=deployments&deployment=d1", nil)
			r.SetPathValue("id", "subscriptions/s1/resourceGroups/rg1")
			s := &session{}
			s.Principal = principal{ObjectID: "oid-1", DisplayName: "Ada"}
			q := &request{w: w, r: r, session: s, arm: &client{p: p, ctx: r.Context(), caller: s.Principal.caller()}}
			if err := p.resourcePage(q); err != nil {
				t.Fatal(err)
			}
			body := w.Body.String()
			if w.Code != 200 || !strings.Contains(body, `id="deployment-state"`) || !strings.Contains(body, "id-dep") {
				t.Fatalf("status %d, page:\n%s", w.Code, body)
			}
			if got := strings.Contains(body, `<meta http-equiv="refresh" content="2">`); got != tc.refresh {
				t.Fatalf("%s: meta refresh %v, want %v", tc.state, got, tc.refresh)
			}
			if got := strings.Contains(body, `class="progress"`); got != tc.refresh {
				t.Fatalf("%s: progress bar %v, want %v", tc.state, got, tc.refresh)
			}
			for _, c := range fake.calls {
				if !strings.HasPrefix(c, "oid-1 GET ") || !strings.HasSuffix(c, " "+vDeployments) {
					t.Fatalf("the portal asked %q", c)
				}
			}
			if len(fake.calls) != 2 {
				t.Fatalf("calls: %v", fake.calls)
			}
		})
	}
}
