package portal_test

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/testenv"
)

// portalClient is a browser stand-in that does not follow redirects, so
// each answer can be checked.
func portalClient(env *testenv.Env) *http.Client {
	return &http.Client{Transport: env.HTTPClient.Transport, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func post(t *testing.T, c *http.Client, env *testenv.Env, path string, form url.Values, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, env.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestSignInLinksAndCrossSiteRequestsAreRefused: a forged link, a replayed
// link, a link posted from another site, and changes without the session's
// token or from another origin are all refused; the session cookie and the
// pages carry the protections the issue names.
func TestSignInLinksAndCrossSiteRequestsAreRefused(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	creds := filepath.Join(env.DataDir, "admin-credentials.json")
	c := portalClient(env)
	same := map[string]string{"Origin": env.URL}
	link := strings.TrimSpace(keyless(t, "portal", "--credentials", creds))
	token := strings.TrimPrefix(link, env.URL+"/portal/signin?token=")

	for _, tc := range []struct {
		name   string
		token  string
		header map[string]string
	}{
		{"forged link", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", same},
		{"link posted from another site", token, map[string]string{"Origin": "https://evil.example"}},
		{"link posted cross-site by fetch metadata", token, map[string]string{"Origin": env.URL, "Sec-Fetch-Site": "cross-site"}},
		{"link posted with no origin", token, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := post(t, c, env, "/portal/signin", url.Values{"token": {tc.token}}, tc.header)
			if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) > 0 {
				t.Fatalf("status %d, cookies %v; want 403 and no session", resp.StatusCode, resp.Cookies())
			}
		})
	}
	resp, err := c.Get(env.URL + "/portal/signin?token=forged")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET of a forged link: %d, want 403", resp.StatusCode)
	}

	// The real link, once.
	resp, _ = post(t, c, env, "/portal/signin", url.Values{"token": {token}}, same)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/portal/" {
		t.Fatalf("sign-in: %d to %q, want 303 to the clean /portal/", resp.StatusCode, resp.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "__Host-keyless-portal" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || !session.Secure || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Strict, Path=/", session)
	}
	t.Run("replayed link", func(t *testing.T) {
		resp, _ := post(t, c, env, "/portal/signin", url.Values{"token": {token}}, same)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("replay: %d, want 403", resp.StatusCode)
		}
	})

	// A page: its headers and its synchronizer token.
	req, _ := http.NewRequest(http.MethodGet, env.URL+"/portal/groups", nil)
	req.AddCookie(session)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("groups page: %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
	}
	if regexp.MustCompile(`<script>|\son[a-z]+=`).Match(body) {
		t.Error("the page has inline script")
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatal("no synchronizer token on the page")
	}
	csrf := string(m[1])
	withSession := func(h map[string]string) map[string]string {
		out := map[string]string{"Cookie": session.Name + "=" + session.Value}
		for k, v := range h {
			out[k] = v
		}
		return out
	}
	create := func(name string) url.Values {
		return url.Values{"subscription": {env.Creds.SubscriptionID}, "name": {name}, "location": {"westeurope"}}
	}
	for _, tc := range []struct {
		name   string
		csrf   string
		header map[string]string
	}{
		{"missing token", "", same},
		{"wrong token", "not-" + csrf, same},
		{"wrong origin", csrf, map[string]string{"Origin": "https://evil.example"}},
		{"cross-site by fetch metadata", csrf, map[string]string{"Origin": env.URL, "Sec-Fetch-Site": "cross-site"}},
		{"no origin or referer", csrf, nil},
	} {
		t.Run("change with "+tc.name, func(t *testing.T) {
			form := create("rg-forged")
			if tc.csrf != "" {
				form.Set("csrf", tc.csrf)
			}
			resp, _ := post(t, c, env, "/portal/actions/create-group", form, withSession(tc.header))
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403", resp.StatusCode)
			}
		})
	}
	if out := keyless(t, "group", "exists", "-n", "rg-forged", "--credentials", creds); strings.TrimSpace(out) != "false" {
		t.Fatalf("a refused request created the group: exists = %s", out)
	}
	form := create("rg-real")
	form.Set("csrf", csrf)
	if resp, _ := post(t, c, env, "/portal/actions/create-group", form, withSession(same)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a same-origin change with the token: %d, want 303", resp.StatusCode)
	}
	if out := keyless(t, "group", "exists", "-n", "rg-real", "--credentials", creds); strings.TrimSpace(out) != "true" {
		t.Fatalf("the accepted change did not create the group: exists = %s", out)
	}

	// Sign out ends the session on the server, not only in the browser.
	form = url.Values{"csrf": {csrf}}
	if resp, _ := post(t, c, env, "/portal/signout", form, withSession(same)); resp.StatusCode != http.StatusOK {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, env.URL+"/portal/", nil)
	req.AddCookie(session)
	if resp, err = c.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the signed-out cookie still opens /portal/: %d", resp.StatusCode)
	}
}
