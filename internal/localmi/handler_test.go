package localmi

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-io/keyless/internal/workload"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the handlers' answers")

// goldenNow is the fixed clock of the golden responses; the token expires
// an hour later and should be refreshed after half of it.
var goldenNow = time.Date(2021, 11, 5, 14, 18, 31, 0, time.UTC)

func goldenToken(ctx context.Context, resource string, sel workload.Selector) (Token, error) {
	return Token{
		AccessToken: "eyJ0eXAiOiJKV1QifQ.e30.sig", ClientID: "df45d93a-de31-47ca-acef-081ca60d1a83",
		Resource: resource, NotBefore: goldenNow.Add(-5 * time.Minute), ExpiresOn: goldenNow.Add(time.Hour),
		RefreshAt: goldenNow.Add(30 * time.Minute),
	}, nil
}

func goldenHandler(t *testing.T, f Flavour) *Handler {
	c := NewCache(FetcherFunc(goldenToken), time.Minute)
	c.now = func() time.Time { return goldenNow }
	h := &Handler{Flavour: f, Cache: c, Secret: "s3cret", Now: func() time.Time { return goldenNow }}
	if f == Arc {
		keys, err := NewArcKeys(filepath.Join(t.TempDir(), "tokens"), -1)
		if err != nil {
			t.Fatal(err)
		}
		h.Keys = keys
	}
	return h
}

// TestTokenResponsesPerProtocol pins each protocol's response, field by
// field and type by type, against the shapes its clients parse: MSAL
// Python adds refresh_in to an integer, az and msrestazure parse 2017's
// expires_on as a date, everyone else reads numbers as strings.
func TestTokenResponsesPerProtocol(t *testing.T) {
	cases := []struct {
		name    string
		flavour Flavour
		target  string
		header  map[string]string
		// types the client libraries require, by field
		strings []string
		numbers []string
		absent  []string
	}{
		{"app_service_2019", AppService, "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net",
			map[string]string{"X-IDENTITY-HEADER": "s3cret"},
			[]string{"access_token", "client_id", "expires_on", "expires_in", "not_before", "resource", "token_type"},
			[]string{"refresh_in"}, []string{"ext_expires_in"}},
		{"app_service_2017", AppService, "/MSI/token/?resource=https://vault.azure.net&api-version=2017-09-01",
			map[string]string{"secret": "s3cret"},
			[]string{"access_token", "client_id", "expires_on", "resource", "token_type"},
			nil, []string{"expires_in", "refresh_in", "not_before"}},
		{"imds", IMDS, "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net",
			map[string]string{"Metadata": "true"},
			[]string{"access_token", "client_id", "expires_on", "expires_in", "ext_expires_in", "not_before", "resource", "token_type"},
			[]string{"refresh_in"}, nil},
		{"arc", Arc, "/metadata/identity/oauth2/token?api-version=2020-06-01&resource=https://vault.azure.net&client_id=DF45D93A-de31-47ca-acef-081ca60d1a83",
			map[string]string{"Metadata": "true"},
			[]string{"access_token", "client_id", "expires_on", "expires_in", "ext_expires_in", "not_before", "resource", "token_type"},
			[]string{"refresh_in"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := goldenHandler(t, tc.flavour)
			body := serveGolden(t, h, tc.target, tc.header)
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range tc.strings {
				if _, ok := m[k].(string); !ok {
					t.Errorf("%s = %#v, want a string", k, m[k])
				}
			}
			for _, k := range tc.numbers {
				if _, ok := m[k].(float64); !ok {
					t.Errorf("%s = %#v, want a number", k, m[k])
				}
			}
			for _, k := range tc.absent {
				if _, ok := m[k]; ok {
					t.Errorf("%s is present; this protocol does not send it", k)
				}
			}
			checkGolden(t, filepath.Join("testdata", tc.name+".golden.json"), body)
		})
	}
}

func TestLegacyExpiresOnParsesAsAzDoes(t *testing.T) {
	b := appServiceLegacyResponse(Token{ExpiresOn: time.Date(2021, 11, 5, 16, 18, 31, 0, time.FixedZone("CET", 3600))}, "r")
	// az: datetime.strptime(expires_on, '%m/%d/%Y %H:%M:%S %z'), in UTC.
	if b.ExpiresOn != "11/05/2021 15:18:31 +00:00" {
		t.Fatalf("expires_on = %q", b.ExpiresOn)
	}
	got, err := time.Parse(legacyExpiresOnLayout, b.ExpiresOn)
	if err != nil || got.Unix() != time.Date(2021, 11, 5, 15, 18, 31, 0, time.UTC).Unix() {
		t.Fatalf("parse back: %v %v", got, err)
	}
}

func TestAppServiceHeadersPerVersion(t *testing.T) {
	cases := []struct {
		name    string
		version string
		header  map[string]string
		want    int
	}{
		{"2019 with X-IDENTITY-HEADER", "2019-08-01", map[string]string{"X-IDENTITY-HEADER": "s3cret"}, 200},
		{"2019 with only secret is 401", "2019-08-01", map[string]string{"secret": "s3cret"}, 401},
		{"2017 with secret", "2017-09-01", map[string]string{"secret": "s3cret"}, 200},
		{"2017 with only X-IDENTITY-HEADER is 401", "2017-09-01", map[string]string{"X-IDENTITY-HEADER": "s3cret"}, 401},
		{"2017 with a wrong secret is 401", "2017-09-01", map[string]string{"secret": "nope"}, 401},
		{"another version is 400", "2018-02-01", map[string]string{"X-IDENTITY-HEADER": "s3cret"}, 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := goldenHandler(t, AppService)
			rec := serve(h, "/msi/token?resource=https://vault.azure.net&api-version="+tc.version, tc.header)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
}

func TestLegacySelectors(t *testing.T) {
	var got workload.Selector
	h := goldenHandler(t, AppService)
	h.Cache = NewCache(FetcherFunc(func(ctx context.Context, resource string, sel workload.Selector) (Token, error) {
		got = sel
		return goldenToken(ctx, resource, sel)
	}), time.Minute)
	rec := serve(h, "/msi/token/?resource=https://vault.azure.net&api-version=2017-09-01&clientid=abc", map[string]string{"secret": "s3cret"})
	if rec.Code != 200 || got.Kind != workload.SelectClientID || got.Value != "abc" {
		t.Fatalf("status %d, selector %+v: %s", rec.Code, got, rec.Body)
	}
}

func serve(h *Handler, target string, header map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// serveGolden answers the Arc challenge itself when the handler sets one.
func serveGolden(t *testing.T, h *Handler, target string, header map[string]string) []byte {
	t.Helper()
	rec := serve(h, target, header)
	if rec.Code == http.StatusUnauthorized && h.Flavour == Arc {
		path := strings.TrimPrefix(rec.Header().Get("WWW-Authenticate"), "Basic realm=")
		key, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		answered := map[string]string{"Authorization": "Basic " + string(key)}
		for k, v := range header {
			answered[k] = v
		}
		rec = serve(h, target, answered)
	}
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, got, "", "  "); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(bytes.TrimSpace(want), bytes.TrimSpace(pretty.Bytes())) {
		t.Errorf("%s differs (rerun with -update and review the diff):\n got: %s\nwant: %s", path, pretty.Bytes(), want)
	}
}
