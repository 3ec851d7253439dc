package portal_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/cli"
	"github.com/keyless-io/keyless/internal/testenv"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the portal screenshots to docs/images")

// chromium finds Debian's chromium. CI installs it (.ci/run), so there a
// missing browser fails the tests instead of skipping them.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KEYLESS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); the portal's browser tests need it")
	return ""
}

// keyless runs the CLI in process, as cmd/keyless does, and returns stdout.
func keyless(t *testing.T, args ...string) string {
	t.Helper()
	root := &cobra.Command{Use: "keyless", SilenceUsage: true, SilenceErrors: true}
	cli.AddCommands(root)
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("keyless %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// serverSPKI is the base64 SHA-256 of the server certificate's public key,
// which Chromium is told to trust (--ignore-certificate-errors-spki-list):
// the test never weakens TLS for anything else.
func serverSPKI(t *testing.T, env *testenv.Env) string {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(env.URL, "https://"), &tls.Config{RootCAs: env.CAPool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// browser is one headless Chromium with its own profile.
type browser struct {
	t   *testing.T
	ctx context.Context
	url string
}

func newBrowser(t *testing.T, env *testenv.Env) *browser {
	t.Helper()
	path := chromium(t)
	host := strings.TrimPrefix(env.URL, "https://")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("no-proxy-server", true),
		// Only the loopback server resolves.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE "+strings.Split(host, ":")[0]),
		chromedp.Flag("ignore-certificate-errors-spki-list", serverSPKI(t, env)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &browser{t: t, ctx: ctx, url: env.URL}
}

func (b *browser) run(actions ...chromedp.Action) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var html string
		dump, cancelDump := context.WithTimeout(b.ctx, 5*time.Second)
		defer cancelDump()
		_ = chromedp.Run(dump, chromedp.OuterHTML("main", &html, chromedp.ByQuery))
		b.t.Fatalf("browser: %v\npage: %.3000s", err, html)
	}
}

func (b *browser) open(path string) { b.t.Helper(); b.run(chromedp.Navigate(b.url + path)) }

// click presses the button or link with this exact text.
func (b *browser) click(text string) {
	b.t.Helper()
	b.run(chromedp.Click(fmt.Sprintf(`//*[(self::button or self::a) and normalize-space()=%q]`, text), chromedp.BySearch))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	var s string
	b.run(chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// confirm answers a confirmation page with its button.
func (b *browser) confirm(button string) {
	b.t.Helper()
	b.run(chromedp.WaitVisible(".confirm", chromedp.ByQuery),
		chromedp.Click(fmt.Sprintf(`//section[contains(@class,"confirm")]//button[normalize-space()=%q]`, button), chromedp.BySearch))
}

// flash waits for the message a change leaves on the next page.
func (b *browser) flash() string { b.t.Helper(); return b.text(".flash") }

func (b *browser) location() string {
	b.t.Helper()
	var u string
	b.run(chromedp.Location(&u))
	return u
}

// shot saves a screenshot of the page for docs/portal.md.
func (b *browser) shot(name string) {
	b.t.Helper()
	var png []byte
	b.run(chromedp.Sleep(150*time.Millisecond), chromedp.CaptureScreenshot(&png))
	dir := b.t.TempDir()
	if *updateScreenshots {
		dir = filepath.Join("..", "..", "docs", "images")
	}
	if err := os.WriteFile(filepath.Join(dir, "portal-"+name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// signIn follows a sign-in link from `keyless portal` and checks that the
// address bar is clean afterwards.
func (b *browser) signIn(creds string, shot bool) {
	b.t.Helper()
	link := strings.TrimSpace(keyless(b.t, "portal", "--credentials", creds))
	if !strings.HasPrefix(link, b.url+"/portal/signin?token=") {
		b.t.Fatalf("keyless portal printed %q", link)
	}
	b.run(chromedp.Navigate(link), chromedp.WaitVisible(`//button[normalize-space()="Continue"]`, chromedp.BySearch))
	if shot {
		b.shot("signin")
	}
	b.click("Continue")
	b.run(chromedp.WaitVisible(".tiles", chromedp.ByQuery))
	if got := b.location(); got != b.url+"/portal/" || strings.Contains(got, "token") {
		b.t.Fatalf("after sign-in the address is %q, want the clean %s/portal/", got, b.url)
	}
}

type fixture struct {
	env                   *testenv.Env
	creds, sub, group, rg string
	site, uami            string
}

func setUp(t *testing.T) fixture {
	env := testenv.Start(t, testenv.Options{})
	f := fixture{env: env, creds: filepath.Join(env.DataDir, "admin-credentials.json"), sub: env.Creds.SubscriptionID, group: "rg-web"}
	f.rg = "/subscriptions/" + f.sub + "/resourceGroups/" + f.group
	keyless(t, "group", "create", "-n", f.group, "-l", "westeurope", "--credentials", f.creds, "-o", "none")
	keyless(t, "resource", "create", "-g", f.group, "-n", "web1", "--resource-type", "Microsoft.Web/sites", "-p", `{"serverFarmId":"plan1"}`, "-l", "westeurope", "--credentials", f.creds, "-o", "none")
	keyless(t, "identity", "create", "-g", f.group, "-n", "id-app", "-l", "westeurope", "--credentials", f.creds, "-o", "none")
	f.site = f.rg + "/providers/Microsoft.Web/sites/web1"
	f.uami = f.rg + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app"
	return f
}

func (f fixture) resource(t *testing.T) armresources.GenericResource {
	t.Helper()
	client, err := armresources.NewClient(f.sub, f.env.AdminCredential(t), f.env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	r, err := client.GetByID(context.Background(), f.site, "2021-04-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.GenericResource
}

// TestPortalIdentityAndAccess signs in with a link from keyless portal and
// does in the browser what the issue asks: the system-assigned identity on
// and off (checked through the SDK), a user-assigned identity attached and
// removed, a role assignment added and removed, every page photographed,
// and Sign out.
func TestPortalIdentityAndAccess(t *testing.T) {
	f := setUp(t)
	b := newBrowser(t, f.env)
	b.signIn(f.creds, true)
	b.shot("home")

	// System assigned: Status On, Save; the object ID shows and the SDK
	// finds the principal.
	b.open("/portal/resource" + f.site + "?blade=identity")
	b.run(chromedp.Click("#status", chromedp.ByQuery))
	b.click("Save")
	if msg := b.flash(); !strings.Contains(msg, "is on") {
		t.Fatalf("after Save: %q", msg)
	}
	shown := strings.TrimSpace(b.text("#principal-id"))
	r := f.resource(t)
	if r.Identity == nil || r.Identity.PrincipalID == nil || *r.Identity.PrincipalID != shown {
		t.Fatalf("the portal shows principal %q; the resource says %+v", shown, r.Identity)
	}
	msi, err := armmsi.NewSystemAssignedIdentitiesClient(f.env.AdminCredential(t), f.env.ARMOptions())
	if err != nil {
		t.Fatal(err)
	}
	sys, err := msi.GetByScope(context.Background(), f.site, nil)
	if err != nil || sys.Properties == nil || *sys.Properties.PrincipalID != shown {
		t.Fatalf("system-assigned identity through the SDK: %+v, %v", sys, err)
	}
	b.shot("identity-system")
	b.click("Azure role assignments")
	b.run(chromedp.WaitVisible(".blade-title", chromedp.ByQuery))

	// User assigned: Add from the picker, then Remove (confirmed).
	b.open("/portal/resource" + f.site + "?blade=identity&tab=user")
	b.click("+ Add")
	b.run(chromedp.WaitVisible(`select[name="identity"]`, chromedp.ByQuery))
	b.shot("identity-user-add")
	b.click("Add identity")
	if msg := b.flash(); !strings.Contains(msg, "Added user-assigned identity id-app") {
		t.Fatalf("after Add: %q", msg)
	}
	if r := f.resource(t); r.Identity == nil || len(r.Identity.UserAssignedIdentities) != 1 {
		t.Fatalf("after Add the resource's identity is %+v", r.Identity)
	}
	b.shot("identity-user")
	b.run(chromedp.Click(`button[aria-label="Remove id-app"]`, chromedp.ByQuery))
	b.confirm("Remove")
	if msg := b.flash(); !strings.Contains(msg, "Removed user-assigned identity id-app") {
		t.Fatalf("after Remove: %q", msg)
	}
	if r := f.resource(t); r.Identity != nil && len(r.Identity.UserAssignedIdentities) != 0 {
		t.Fatalf("after Remove the resource's identity is %+v", r.Identity)
	}

	// Access control (IAM) on the group: Reader for id-app, then removed.
	b.open("/portal/resource" + f.rg + "?blade=iam&tab=add")
	b.run(chromedp.SendKeys(`input[data-filter="role-list"]`, "reader", chromedp.ByQuery))
	b.run(chromedp.Click(`input[name="role"][value$="acdd72a7-3385-48ef-bd42-f606fba81ae7"]`, chromedp.ByQuery))
	b.run(chromedp.Click(`//li[.//strong[normalize-space()="id-app"]]//input[@name="member"]`, chromedp.BySearch))
	b.shot("iam-add")
	b.click("Review + assign")
	if msg := b.flash(); !strings.Contains(msg, "Added 1 role assignment") {
		t.Fatalf("after Review + assign: %q", msg)
	}
	assignments := func() string {
		return keyless(t, "role", "assignment", "list", "--scope", f.rg, "--credentials", f.creds, "-o", "json")
	}
	if !strings.Contains(assignments(), "acdd72a7-3385-48ef-bd42-f606fba81ae7") {
		t.Fatalf("no Reader assignment after adding it: %s", assignments())
	}
	b.shot("iam")
	b.run(chromedp.Click(`button[aria-label="Remove Reader for id-app"]`, chromedp.ByQuery))
	b.confirm("Remove")
	if msg := b.flash(); !strings.Contains(msg, "Removed the role assignment") {
		t.Fatalf("after removing the assignment: %q", msg)
	}
	if strings.Contains(assignments(), "acdd72a7-3385-48ef-bd42-f606fba81ae7") {
		t.Fatalf("the Reader assignment is still there: %s", assignments())
	}
	b.open("/portal/resource" + f.rg + "?blade=iam&tab=check")
	var picked bool
	b.run(chromedp.Evaluate(`(() => { const s = document.querySelector('select[name=principal]');
		for (const o of s.options) { if (o.text.startsWith('keyless-admin')) { s.value = o.value; return true; } } return false; })()`, &picked),
		chromedp.Click(`//button[normalize-space()="Check access"]`, chromedp.BySearch),
		chromedp.WaitVisible("main h3", chromedp.ByQuery))
	if !picked || !strings.Contains(b.text("main table.grid"), "Owner") {
		t.Fatalf("Check access for the administrator shows no Owner")
	}
	b.shot("iam-check")
	b.open("/portal/resource" + f.rg + "?blade=iam&tab=roles")
	b.shot("iam-roles")

	// The user-assigned identity's own page and a federated credential.
	b.open("/portal/resource" + f.uami + "?blade=federated")
	b.run(chromedp.Click("details.create > summary", chromedp.ByQuery))
	b.run(chromedp.SendKeys(`input[name="name"]`, "github-main", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="issuer"]`, "https://token.actions.githubusercontent.com", chromedp.ByQuery),
		chromedp.SendKeys(`input[name="subject"]`, "repo:example/app:ref:refs/heads/main", chromedp.ByQuery))
	b.click("Add")
	if msg := b.flash(); !strings.Contains(msg, "Added federated credential github-main") {
		t.Fatalf("after adding a federated credential: %q", msg)
	}
	b.shot("uami-federated")
	b.open("/portal/resource" + f.uami)
	b.text("#client-id")
	b.shot("uami")

	// Turning the system-assigned identity off asks first, and says its
	// role assignments go too.
	b.open("/portal/resource" + f.site + "?blade=identity")
	b.run(chromedp.Click("#status", chromedp.ByQuery))
	b.click("Save")
	if detail := b.text("#confirm-detail"); !strings.Contains(detail, "role assignments are deleted too") {
		t.Fatalf("the confirmation says %q", detail)
	}
	b.shot("identity-off-confirm")
	b.confirm("Yes, turn it off")
	if msg := b.flash(); !strings.Contains(msg, "is off") {
		t.Fatalf("after turning it off: %q", msg)
	}
	if r := f.resource(t); r.Identity != nil && r.Identity.PrincipalID != nil {
		t.Fatalf("the resource still has a system-assigned identity: %+v", r.Identity)
	}

	// The other pages.
	for _, p := range []struct{ path, name, ready string }{
		{"/portal/groups", "groups", "table.grid"},
		{"/portal/resource" + f.rg, "group", "table.grid"},
		{"/portal/identities", "identities", "table.grid"},
		{"/portal/review", "review", ".findings, .empty"},
		{"/portal/inventory", "inventory", "svg.graph"},
		{"/portal/activity", "activity", "table.activity"},
	} {
		b.open(p.path)
		b.run(chromedp.WaitVisible(p.ready, chromedp.ByQuery))
		b.shot(p.name)
	}

	// Delete the group, confirmed, with progress.
	b.open("/portal/resource" + f.rg)
	b.click("Delete resource group")
	b.run(chromedp.WaitVisible(".confirm", chromedp.ByQuery))
	b.shot("delete-confirm")
	b.confirm("Delete")
	if msg := b.flash(); !strings.Contains(msg, "Deleted resource group rg-web") {
		t.Fatalf("after deleting the group: %q", msg)
	}
	if got := b.location(); !strings.HasSuffix(got, "/portal/resource/subscriptions/"+f.sub) {
		t.Fatalf("after deleting the group the portal shows %s, not the subscription", got)
	}

	// Sign out ends the session.
	b.click("Sign out")
	b.run(chromedp.WaitVisible(`//h1[normalize-space()="Signed out"]`, chromedp.BySearch))
	b.open("/portal/")
	if h := b.text(".status-page h1"); h != "Sign in" {
		t.Fatalf("after Sign out /portal/ shows %q", h)
	}
}

// TestPortalRefusesWithoutRights signs in as a service principal that
// holds only Reader on one group: the portal offers it no change, and the
// front door refuses what it tries anyway, and whatever it may not read.
func TestPortalRefusesWithoutRights(t *testing.T) {
	f := setUp(t)
	var sp struct{ AppID, Password, ObjectID string }
	out := keyless(t, "sp", "create", "--name", "auditor", "--credentials", f.creds, "-o", "json")
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("sp create: %v\n%s", err, out)
	}
	sp.AppID, _ = raw["appId"].(string)
	sp.Password, _ = raw["password"].(string)
	sp.ObjectID, _ = raw["objectId"].(string)
	if sp.ObjectID == "" {
		if props, ok := raw["properties"].(map[string]any); ok {
			sp.AppID, _ = props["appId"].(string)
			sp.Password, _ = props["password"].(string)
			sp.ObjectID, _ = props["objectId"].(string)
		}
	}
	if sp.AppID == "" || sp.Password == "" {
		t.Fatalf("sp create printed %s", out)
	}
	keyless(t, "role", "assignment", "create", "--assignee", sp.AppID, "--role", "Reader", "--scope", f.rg, "--credentials", f.creds, "-o", "none")
	var admin map[string]any
	rawCreds, err := os.ReadFile(f.creds)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.Unmarshal(rawCreds, &admin)
	admin["clientId"], admin["clientSecret"] = sp.AppID, sp.Password
	spCreds := filepath.Join(t.TempDir(), "auditor.json")
	b, _ := json.Marshal(admin)
	if err := os.WriteFile(spCreds, b, 0o600); err != nil {
		t.Fatal(err)
	}

	br := newBrowser(t, f.env)
	br.signIn(spCreds, false)
	// Reader on the group: the Identity blade shows the state, offers no Save.
	br.open("/portal/resource" + f.site + "?blade=identity")
	var disabled bool
	br.run(chromedp.WaitVisible("#status", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("#status").disabled && !Array.from(document.querySelectorAll("button")).some(b => b.textContent.trim() === "Save")`, &disabled))
	if !disabled {
		t.Fatal("a Reader is offered the Status switch and Save")
	}
	br.shot("identity-reader")
	// A form it was not offered, posted with its own valid token, is
	// refused by the front door.
	var status int
	br.run(chromedp.Evaluate(fmt.Sprintf(`(async () => {
		const csrf = document.querySelector('input[name="csrf"]').value;
		const body = new URLSearchParams({csrf: csrf, id: %q, status: "on"});
		const r = await fetch("/portal/actions/system-identity", {method: "POST", body: body, redirect: "manual"});
		return r.status;
	})()`, f.site), &status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	br.open("/portal/resource" + f.site + "?blade=identity")
	if msg := br.flash(); !strings.Contains(msg, "AuthorizationFailed") {
		t.Fatalf("the refused change reports %q (status %d)", msg, status)
	}
	if r := f.resource(t); r.Identity != nil && r.Identity.PrincipalID != nil {
		t.Fatal("a Reader turned on a system-assigned identity")
	}
	// Outside its group it may read nothing: the front door's refusal.
	br.open("/portal/resource/subscriptions/" + f.sub + "?blade=iam")
	if h := br.text(".code-badge"); h != "AuthorizationFailed" {
		t.Fatalf("reading the subscription's IAM: %q", h)
	}
	br.shot("refused")
	br.run(network.ClearBrowserCookies())
}
