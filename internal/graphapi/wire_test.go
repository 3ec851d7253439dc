package graphapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyless-io/keyless/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// rawGraph calls Graph over plain HTTP with a token for scope.
type rawGraph struct {
	t     *testing.T
	env   *testenv.Env
	token string
}

func newRawGraph(t *testing.T, env *testenv.Env, scope string) rawGraph {
	t.Helper()
	tok, err := env.AdminCredential(t).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatalf("token for %s: %v", scope, err)
	}
	return rawGraph{t, env, tok.Token}
}

func (g rawGraph) do(method, path string, body any, headers ...string) (int, []byte) {
	g.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, g.env.URL+path, rd)
	if err != nil {
		g.t.Fatal(err)
	}
	if g.token != "" {
		req.Header.Set("Authorization", "Bearer "+g.token)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := g.env.HTTPClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (g rawGraph) json(method, path string, body any, want int, headers ...string) map[string]any {
	g.t.Helper()
	status, out := g.do(method, path, body, headers...)
	if status != want {
		g.t.Fatalf("%s %s: %d %s, want %d", method, path, status, out, want)
	}
	var m map[string]any
	if len(out) > 0 {
		if err := json.Unmarshal(out, &m); err != nil {
			g.t.Fatalf("%s %s: %v in %s", method, path, err, out)
		}
	}
	return m
}

var (
	guidPattern = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)
	timePattern = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?`)
	thumbprint  = regexp.MustCompile(`"customKeyIdentifier": "[0-9A-F]{40}"`)
	secretText  = regexp.MustCompile(`kls~[A-Za-z0-9._~-]+`)
	skipToken   = regexp.MustCompile(`skiptoken=[A-Za-z0-9_-]+`)
)

// normalize makes a body comparable across runs: IDs numbered in order of
// appearance (the same ID, the same number), times, secrets, the server's
// URL and paging tokens replaced.
func normalize(env *testenv.Env, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	s := strings.ReplaceAll(strings.TrimSuffix(buf.String(), "\n"), env.URL, "https://keyless.test")
	s = strings.ReplaceAll(s, strings.TrimPrefix(env.URL, "https://"), "keyless.test")
	s = strings.ReplaceAll(s, "keyless.test:"+env.URL[strings.LastIndex(env.URL, ":")+1:], "keyless.test")
	seen := map[string]string{}
	s = guidPattern.ReplaceAllStringFunc(s, func(id string) string {
		id = strings.ToLower(id)
		if _, ok := seen[id]; !ok {
			seen[id] = fmt.Sprintf("00000000-0000-0000-0000-%012d", len(seen)+1)
		}
		return seen[id]
	})
	s = timePattern.ReplaceAllString(s, "2025-01-01T00:00:00Z")
	s = thumbprint.ReplaceAllString(s, `"customKeyIdentifier": "<sha1 thumbprint>"`)
	s = secretText.ReplaceAllString(s, "kls~<secret>")
	s = skipToken.ReplaceAllString(s, "skiptoken=<token>")
	return []byte(s + "\n")
}

func golden(t *testing.T, env *testenv.Env, name string, v any) {
	t.Helper()
	got := normalize(env, v)
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update and review the diff):\n%s", name, path, got)
	}
}

// TestGraphWireShapes pins Graph's JSON for each object type, a page of a
// collection, an added password and the error shape.
func TestGraphWireShapes(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	g := newRawGraph(t, env, "https://graph.microsoft.com/.default")
	app := g.json(http.MethodPost, "/v1.0/applications", map[string]any{
		"@odata.type": "#microsoft.graph.application", "displayName": "wire-app", "tags": []string{"wire"},
		"identifierUris": []string{"api://wire"}, "web": map[string]any{"redirectUris": []string{"https://wire.example/cb"}},
	}, http.StatusCreated)
	id, appID := app["id"].(string), app["appId"].(string)
	password := g.json(http.MethodPost, "/v1.0/applications/"+id+"/addPassword",
		map[string]any{"passwordCredential": map[string]any{"displayName": "wire-secret"}}, http.StatusOK)
	golden(t, env, "add_password", password)
	golden(t, env, "application", g.json(http.MethodGet, "/v1.0/applications/"+id, nil, http.StatusOK))
	sp := g.json(http.MethodPost, "/v1.0/servicePrincipals", map[string]any{"appId": appID}, http.StatusCreated)
	golden(t, env, "service_principal", g.json(http.MethodGet, "/v1.0/servicePrincipals/"+sp["id"].(string), nil, http.StatusOK))
	group := g.json(http.MethodPost, "/v1.0/groups", map[string]any{"displayName": "wire group", "mailNickname": "wiregroup",
		"mailEnabled": false, "securityEnabled": true, "members@odata.bind": []string{"https://graph.microsoft.com/v1.0/directoryObjects/" + sp["id"].(string)}},
		http.StatusCreated)
	golden(t, env, "group", group)
	// Two groups of one name: whichever ID sorts first, the page reads
	// the same.
	for range 2 {
		g.json(http.MethodPost, "/v1.0/groups", map[string]any{"displayName": "paged"}, http.StatusCreated)
	}
	golden(t, env, "groups_page", g.json(http.MethodGet, "/v1.0/groups?$filter=displayName+eq+'paged'&$top=1&$count=true&$select=displayName,id",
		nil, http.StatusOK, "ConsistencyLevel", "eventual"))
	golden(t, env, "error_not_found", g.json(http.MethodGet, "/v1.0/applications/00000000-0000-0000-0000-00000000dead", nil, http.StatusNotFound,
		"client-request-id", "11111111-2222-3333-4444-555555555555"))
}

// TestGraphAudiences: Graph takes tokens for Graph's audiences (with and
// without slash, by application ID) and for the keyless URL; an ARM token
// or none is refused in Graph's error shape.
func TestGraphAudiences(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	for _, tc := range []struct {
		scope string
		want  int
	}{
		{"https://graph.microsoft.com/.default", http.StatusOK},
		{"https://graph.microsoft.com//.default", http.StatusOK},
		{"00000003-0000-0000-c000-000000000000/.default", http.StatusOK},
		{env.URL + "/.default", http.StatusOK},
		{"https://management.azure.com/.default", http.StatusUnauthorized},
		{"api://some-other-service/.default", http.StatusUnauthorized},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			status, body := newRawGraph(t, env, tc.scope).do(http.MethodGet, "/v1.0/organization", nil)
			if status != tc.want {
				t.Fatalf("GET /v1.0/organization with a token for %s: %d %s, want %d", tc.scope, status, body, tc.want)
			}
			if status == http.StatusUnauthorized && !strings.Contains(string(body), `"code":"InvalidAuthenticationToken"`) {
				t.Fatalf("refusal is not Graph's error shape: %s", body)
			}
		})
	}
	t.Run("no token", func(t *testing.T) {
		status, body := rawGraph{t: t, env: env}.do(http.MethodGet, "/v1.0/applications", nil)
		if status != http.StatusUnauthorized || !strings.Contains(string(body), `"message":"Access token is empty."`) {
			t.Fatalf("without a token: %d %s", status, body)
		}
	})
}
