package cli

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

func TestExpandMultiWord(t *testing.T) {
	multi := map[string]bool{"tags": true, "ids": true, "assign-identity": true}
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"words after a multi-word flag are its values", []string{"-n", "x", "--tags", "a=1", "b=2", "-l", "westus"},
			[]string{"-n", "x", "--tags=a=1", "--tags=b=2", "-l", "westus"}},
		{"a bare flag is one empty value", []string{"--assign-identity", "-g", "rg"},
			[]string{"--assign-identity=", "-g", "rg"}},
		{"a bare flag at the end is one empty value", []string{"--assign-identity"}, []string{"--assign-identity="}},
		{"an empty word is kept as a value", []string{"--tags", ""}, []string{"--tags="}},
		{"--flag=value takes further words too", []string{"--tags=a=1", "b"}, []string{"--tags=a=1", "--tags=b"}},
		{"other flags' values are left alone", []string{"-g", "rg", "--ids", "/a", "/b", "--query", "[0]"},
			[]string{"-g", "rg", "--ids=/a", "--ids=/b", "--query", "[0]"}},
		{"[system] is a word like any other", []string{"--assign-identity", "[system]", "id-a"},
			[]string{"--assign-identity=[system]", "--assign-identity=id-a"}},
		{"a lone dash is a value", []string{"--tags", "-"}, []string{"--tags=-"}},
		{"-- ends flag processing", []string{"--", "--tags", "a"}, []string{"--", "--tags", "a"}},
		{"a flag that merely starts like one is not expanded", []string{"--tagsx", "a"}, []string{"--tagsx", "a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := expandMultiWord(tc.in, multi); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTags(t *testing.T) {
	tests := []struct {
		name    string
		words   []string
		want    map[string]string
		wantNil bool
		wantErr string
	}{
		{name: "no flag leaves tags out", words: nil, wantNil: true},
		{name: "key=value pairs", words: []string{"env=prod", "team=web"}, want: map[string]string{"env": "prod", "team": "web"}},
		{name: "a key alone has the empty value", words: []string{"owner"}, want: map[string]string{"owner": ""}},
		{name: "the value may hold =", words: []string{"q=a=b"}, want: map[string]string{"q": "a=b"}},
		{name: `"" clears the tags`, words: []string{""}, want: map[string]string{}},
		{name: "a word without a key is refused", words: []string{"=x"}, wantErr: `--tags: "=x" has no key`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTags(tc.words)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if got != nil {
					t.Fatalf("got %v, want nil", got)
				}
				return
			}
			plain := map[string]string{}
			for k, v := range got {
				plain[k] = *v
			}
			if !reflect.DeepEqual(plain, tc.want) {
				t.Errorf("got %v, want %v", plain, tc.want)
			}
		})
	}
}

func TestTagFilter(t *testing.T) {
	for in, want := range map[string]string{
		"":         "",
		"env":      "tagName eq 'env'",
		"env=prod": "tagName eq 'env' and tagValue eq 'prod'",
		"env=":     "tagName eq 'env' and tagValue eq ''",
		"o'k=it's": "tagName eq 'o''k' and tagValue eq 'it''s'",
	} {
		if got := tagFilter(in); got != want {
			t.Errorf("tagFilter(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestResourceSpecID(t *testing.T) {
	const sub = "00000000-0000-0000-0000-000000000001"
	const base = "/subscriptions/" + sub + "/resourceGroups/rg/providers/"
	tests := []struct {
		name    string
		spec    resourceSpec
		want    string
		wantErr string
	}{
		{name: "namespace and type apart", spec: resourceSpec{group: "rg", name: "web1", namespace: "Microsoft.Web", resourceType: "sites"},
			want: base + "Microsoft.Web/sites/web1"},
		{name: "type with its namespace", spec: resourceSpec{group: "rg", name: "web1", resourceType: "Microsoft.Web/sites"},
			want: base + "Microsoft.Web/sites/web1"},
		{name: "child type with --parent", spec: resourceSpec{group: "rg", name: "s1", namespace: "Microsoft.Network", resourceType: "subnets", parent: "virtualNetworks/vnet1"},
			want: base + "Microsoft.Network/virtualNetworks/vnet1/subnets/s1"},
		{name: "full child type with a matching --parent", spec: resourceSpec{group: "rg", name: "s1", resourceType: "Microsoft.Network/virtualNetworks/subnets", parent: "virtualNetworks/vnet1"},
			want: base + "Microsoft.Network/virtualNetworks/vnet1/subnets/s1"},
		{name: "full child type needs --parent", spec: resourceSpec{group: "rg", name: "s1", resourceType: "Microsoft.Network/virtualNetworks/subnets"},
			wantErr: "--resource-type Microsoft.Network/virtualNetworks/subnets is a child type: give --parent virtualNetworks/{name}"},
		{name: "--parent must match the full child type", spec: resourceSpec{group: "rg", name: "s1", resourceType: "Microsoft.Network/virtualNetworks/subnets", parent: "routeTables/rt"},
			wantErr: "--parent routeTables/rt does not match"},
		{name: "--parent must be type/name pairs", spec: resourceSpec{group: "rg", name: "s1", namespace: "Microsoft.Network", resourceType: "subnets", parent: "virtualNetworks"},
			wantErr: "--parent virtualNetworks must be type/name pairs"},
		{name: "a namespace is needed", spec: resourceSpec{group: "rg", name: "web1", resourceType: "sites"},
			wantErr: "give --namespace"},
		{name: "namespaces must agree", spec: resourceSpec{group: "rg", name: "web1", namespace: "Microsoft.Compute", resourceType: "Microsoft.Web/sites"},
			wantErr: "--namespace Microsoft.Compute does not match"},
		{name: "a name is needed", spec: resourceSpec{group: "rg", resourceType: "Microsoft.Web/sites"},
			wantErr: "name the resource with --ids"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.spec.id(sub)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want prefix %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestAPIVersionFor(t *testing.T) {
	const rg = "/subscriptions/s/resourceGroups/rg/providers/"
	for _, tc := range []struct{ flag, id, want string }{
		{"", rg + "Microsoft.Web/sites/web1", "2023-12-01"},
		{"", rg + "microsoft.web/SITES/web1", "2023-12-01"},
		{"", rg + "Microsoft.ManagedIdentity/userAssignedIdentities/id1", "2023-01-31"},
		{"", rg + "Contoso.Widgets/widgets/w1", defaultAPIVersion},
		{"2021-01-01", rg + "Microsoft.Web/sites/web1", "2021-01-01"},
	} {
		if got := apiVersionFor(tc.flag, tc.id); got != tc.want {
			t.Errorf("apiVersionFor(%q, %q) = %q, want %q", tc.flag, tc.id, got, tc.want)
		}
	}
}

func TestUserAssignedIdentityID(t *testing.T) {
	const id = "/subscriptions/s/resourceGroups/other/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-x"
	got, err := userAssignedIdentityID("id-a", "s", "rg")
	if want := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-a"; err != nil || got != want {
		t.Errorf("a name: got %q, %v; want %q", got, err, want)
	}
	if got, err := userAssignedIdentityID(id, "s", "rg"); err != nil || got != id {
		t.Errorf("an ID: got %q, %v; want it unchanged", got, err)
	}
	for _, bad := range []string{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites/w", "rg/id-a"} {
		if _, err := userAssignedIdentityID(bad, "s", "rg"); err == nil {
			t.Errorf("%q accepted as a user-assigned identity", bad)
		}
	}
}

func TestAzDocument(t *testing.T) {
	in := map[string]any{
		"id":   "/subscriptions/s/resourcegroups/rg-x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1",
		"name": "id1",
		"properties": map[string]any{
			"principalId": "p", "clientId": "c", "name": "not lifted over the top-level name",
		},
		"nested": []any{
			map[string]any{"id": "/subscriptions/s/resourceGroups/rg-y/providers/A.B/c/d"},
			map[string]any{"id": "/subscriptions/s/resourceGroups/rg-only"},
		},
		"sourceVault": map[string]any{"id": "/subscriptions/s/resourceGroups/kv/providers/Microsoft.KeyVault/vaults/v"},
	}
	doc, err := azDocument(in, true)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(doc)
	want := "map[clientId:c id:/subscriptions/s/resourcegroups/rg-x/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1 name:id1 " +
		"nested:[map[id:/subscriptions/s/resourceGroups/rg-y/providers/A.B/c/d resourceGroup:rg-y] map[id:/subscriptions/s/resourceGroups/rg-only]] " +
		"principalId:p resourceGroup:rg-x sourceVault:map[id:/subscriptions/s/resourceGroups/kv/providers/Microsoft.KeyVault/vaults/v]]"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// responseError is what azcore makes of an HTTP error response.
func responseError(t *testing.T, method string, status int, body string) error {
	t.Helper()
	u, _ := url.Parse("https://127.0.0.1:8443/subscriptions/s/resourcegroups/x?api-version=2025-04-01")
	resp := &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)),
		Request: &http.Request{Method: method, URL: u},
	}
	return runtime.NewResponseError(resp)
}

func TestErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"an ARM error reads as az prints it",
			responseError(t, "GET", 404, `{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found.","details":[]}}`),
			"(ResourceGroupNotFound) Resource group 'x' could not be found."},
		{"a wrapped ARM error is found",
			fmt.Errorf("context: %w", responseError(t, "PUT", 400, `{"error":{"code":"InvalidIdentity","message":"bad\nidentity"}}`)),
			"(InvalidIdentity) bad identity"},
		{"an unwrapped code/message body",
			responseError(t, "GET", 409, `{"code":"Conflict","message":"It clashes."}`),
			"(Conflict) It clashes."},
		{"no body names the request and the status",
			responseError(t, "HEAD", 403, ``),
			"HEAD /subscriptions/s/resourcegroups/x: 403 Forbidden"},
		{"a body that is not JSON",
			responseError(t, "GET", 502, `<html>bad gateway</html>`),
			"GET /subscriptions/s/resourcegroups/x: 502 Bad Gateway"},
		{"any other error on one line",
			errors.New("first line\n  second line\n-----\n"),
			"first line second line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ErrorMessage(tc.err); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestReportError(t *testing.T) {
	var buf strings.Builder
	if code := ReportError(&buf, errors.New("boom")); code != 1 || buf.String() != "keyless: boom\n" {
		t.Errorf("got %d %q", code, buf.String())
	}
	buf.Reset()
	if code := ReportError(&buf, ExitError{Code: 3, Err: errors.New("child failed")}); code != 3 || buf.Len() != 0 {
		t.Errorf("ExitError: got %d %q; want 3 and nothing printed", code, buf.String())
	}
}
