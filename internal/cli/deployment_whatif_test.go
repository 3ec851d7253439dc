package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

func readWhatIf(t *testing.T, path string) whatIfResult {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res armdeploy.WhatIfOperationResult
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return whatIfResult{WhatIfOperationResult: res, raw: doc}
}

// TestFormatWhatIfAsAz renders what-if results through formatWhatIf and
// compares them with what azure-cli's own formatter (_formatters.py, run
// on the same documents) printed, with and without colour: the
// testdata/whatif/*.az*.golden files are its output, kept as they came.
// keyless's access section, which az does not print, is left out here.
func TestFormatWhatIfAsAz(t *testing.T) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "whatif", "*.json"))
	if len(inputs) == 0 {
		t.Fatal("no inputs in testdata/whatif")
	}
	for _, in := range inputs {
		base := strings.TrimSuffix(in, ".json")
		for _, color := range []bool{false, true} {
			golden := base + ".az.golden"
			if color {
				golden = base + ".az-color.golden"
			}
			t.Run(filepath.Base(golden), func(t *testing.T) {
				res := readWhatIf(t, in)
				res.raw = nil
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatal(err)
				}
				if got := formatWhatIf(res, whatIfOptions{color: color}); got != string(want) {
					t.Errorf("formatWhatIf differs from az's %s:\n--- got\n%s\n--- want\n%s", golden, got, want)
				}
			})
		}
	}
}

func TestFormatWhatIfAccessChanges(t *testing.T) {
	res := readWhatIf(t, filepath.Join("testdata", "whatif", "every-change.json"))
	got := formatWhatIf(res, whatIfOptions{})
	_, access, ok := strings.Cut(got, "\nThe deployment will change the following access:\n")
	if !ok {
		t.Fatalf("no access section:\n%s", got)
	}
	want := `
  + Grant  Reader to the new principal of Microsoft.ManagedIdentity/userAssignedIdentities/id-new at /subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg-app
  - Revoke b24988ac-6180-42a0-ab88-20f7382dd24c from 00000000-0000-0000-0000-00000000000a at /
  + Attach SystemAssigned to Microsoft.Web/sites/web1
  - Detach microsoft.managedidentity/userassignedidentities/id-old from Microsoft.Web/sites/web1

Access changes: 1 to grant, 1 to revoke, 1 to attach, 1 to detach.
`
	if access != want {
		t.Errorf("access section\n got %q\nwant %q", access, want)
	}
	none := formatWhatIf(readWhatIf(t, filepath.Join("testdata", "whatif", "no-change.json")), whatIfOptions{})
	if !strings.HasSuffix(none, "\nAccess changes: none.\n") {
		t.Errorf("no access changes: %q", none)
	}
	notKeyless := formatWhatIf(readWhatIf(t, filepath.Join("testdata", "whatif", "one-kind.json")), whatIfOptions{})
	if strings.Contains(notKeyless, "Access changes") {
		t.Errorf("a result without accessChanges (not keyless) got an access section: %q", notKeyless)
	}
}

func TestFormatWhatIfOptions(t *testing.T) {
	res := readWhatIf(t, filepath.Join("testdata", "whatif", "every-change.json"))
	res.raw = nil
	t.Run("excluded change types are left out, legend and counts included", func(t *testing.T) {
		got := formatWhatIf(res, whatIfOptions{exclude: map[string]bool{"nochange": true, "ignore": true, "modify": true}})
		for _, gone := range []string{"= NoChange", "* Ignore", "id-same", "vm1", "sites/web1 [", "to modify"} {
			if strings.Contains(got, gone) {
				t.Errorf("%q still shown:\n%s", gone, got)
			}
		}
		if !strings.Contains(got, "Resource changes: 1 to delete, 3 to create, 1 to deploy, 1 unsupported.") {
			t.Errorf("counts:\n%s", got)
		}
	})
	t.Run("ResourceIdOnly prints no bodies or deltas", func(t *testing.T) {
		got := formatWhatIf(res, whatIfOptions{idsOnly: true})
		for _, gone := range []string{"apiVersion:", "httpsOnly", "[2023-01-31]"} {
			if strings.Contains(got, gone) {
				t.Errorf("%q still shown:\n%s", gone, got)
			}
		}
		if !strings.Contains(got, "  + Microsoft.ManagedIdentity/userAssignedIdentities/id-new\n") {
			t.Errorf("ids:\n%s", got)
		}
	})
}

func TestSplitResourceID(t *testing.T) {
	const sub = "/subscriptions/00000000-0000-0000-0000-000000000001"
	tests := []struct{ id, scope, rel string }{
		{sub + "/resourceGroups/rg/providers/Microsoft.Web/sites/w", sub + "/resourceGroups/rg", "Microsoft.Web/sites/w"},
		{sub + "/resourceGroups/rg", sub, "resourceGroups/rg"},
		{"/subscriptions/ABCDEF00-0000-0000-0000-000000000001/providers/Microsoft.Authorization/roleAssignments/x", "/subscriptions/abcdef00-0000-0000-0000-000000000001", "Microsoft.Authorization/roleAssignments/x"},
		{sub + "/resourceGroups/rg/providers/Microsoft.Web/sites/w/providers/Microsoft.Authorization/roleAssignments/r", sub + "/resourceGroups/rg", "Microsoft.Web/sites/w/providers/Microsoft.Authorization/roleAssignments/r"},
		{"/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/roleAssignments/r", "/providers/Microsoft.Management/ManagementGroups/mg1", "Microsoft.Authorization/roleAssignments/r"},
		{"/providers/Microsoft.Management/managementGroups/mg1", "/", "Microsoft.Management/ManagementGroups/mg1"},
		{"/providers/Microsoft.Authorization/roleAssignments/r", "/", "Microsoft.Authorization/roleAssignments/r"},
	}
	for _, tc := range tests {
		scope, rel := splitResourceID(tc.id)
		if scope != tc.scope || rel != tc.rel {
			t.Errorf("splitResourceID(%s) = %q, %q; want %q, %q", tc.id, scope, rel, tc.scope, tc.rel)
		}
	}
}

func TestUseColorHonoursNoColor(t *testing.T) {
	var buf bytes.Buffer
	if useColor(&buf) {
		t.Error("a buffer is not a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if useColor(os.Stdout) {
		t.Error("NO_COLOR set, colour used")
	}
}

func TestSpliceTemplate(t *testing.T) {
	text := []byte("{\n  \"resources\": [  ]\n}")
	tests := []struct {
		name, body, want string
		ok               bool
	}{
		{"the template is replaced byte for byte", `{"properties":{"mode":"Incremental","template":{"resources":[]},"parameters":{}}}`,
			"{\"properties\":{\"mode\":\"Incremental\",\"template\":{\n  \"resources\": [  ]\n},\"parameters\":{}}}", true},
		{"other members keep their order", `{"location":"westus","properties":{"template":{}},"tags":{}}`,
			"{\"location\":\"westus\",\"properties\":{\"template\":{\n  \"resources\": [  ]\n}},\"tags\":{}}", true},
		{"a body without a template is left alone", `{"properties":{"mode":"Incremental"}}`, "", false},
		{"a body that is not an object is left alone", `[1]`, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := spliceTemplate([]byte(tc.body), text)
			if ok != tc.ok || (ok && string(got) != tc.want) {
				t.Fatalf("spliceTemplate = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
			if ok && !json.Valid(got) {
				t.Fatalf("not JSON: %s", got)
			}
		})
	}
}

func TestRewriteDeploymentArgs(t *testing.T) {
	cmd := &cobra.Command{Use: "create"}
	cmd.Flags().StringArrayP("parameters", "p", nil, "")
	cmd.Flags().StringArrayP("what-if-exclude-change-types", "x", nil, "")
	tests := []struct {
		name     string
		in, want []string
	}{
		{"-p is spelled long so that it takes several words", []string{"-p", "a=1", "b=2"}, []string{"--parameters", "a=1", "b=2"}},
		{"-p=value too", []string{"-p=a=1"}, []string{"--parameters=a=1"}},
		{"-x is spelled long", []string{"-x", "NoChange", "Ignore"}, []string{"--what-if-exclude-change-types", "NoChange", "Ignore"}},
		{"--rollback-on-error takes the next word", []string{"--rollback-on-error", "good", "-g", "rg"}, []string{"--rollback-on-error=good", "-g", "rg"}},
		{"--rollback-on-error alone stays alone", []string{"--rollback-on-error", "-g", "rg"}, []string{"--rollback-on-error", "-g", "rg"}},
		{"--rollback-on-error last", []string{"-g", "rg", "--rollback-on-error"}, []string{"-g", "rg", "--rollback-on-error"}},
		{"after -- nothing is rewritten", []string{"--", "-p"}, []string{"--", "-p"}},
	}
	for _, tc := range tests {
		if got := rewriteDeploymentArgs(cmd, tc.in); strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestISODurations(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT0.0123456S", 12345600 * time.Nanosecond, true},
		{"PT4.18S", 4180 * time.Millisecond, true},
		{"PT1M4S", 64 * time.Second, true},
		{"P1DT2H", 26 * time.Hour, true},
		{"PT0S", 0, true},
		{"4s", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseISODuration(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("parseISODuration(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if got := isoDuration("PT0.0123456S"); got != "12ms" {
		t.Errorf("isoDuration: %q", got)
	}
}

func TestConfirmDeployment(t *testing.T) {
	tests := []struct {
		name     string
		terminal bool
		yes      bool
		input    string
		want     bool
		err      string
	}{
		{"y deploys", true, false, "y\n", true, ""},
		{"yes deploys", true, false, "YES\n", true, ""},
		{"enter is no", true, false, "\n", false, ""},
		{"n is no", true, false, "n\n", false, ""},
		{"end of input is no", true, false, "", false, ""},
		{"without a terminal it is refused", false, false, "y\n", false, "--confirm-with-what-if asks on a terminal"},
		{"--yes needs no terminal", false, true, "", true, ""},
	}
	saved := inputIsTerminal
	defer func() { inputIsTerminal = saved }()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inputIsTerminal = func(io.Reader) bool { return tc.terminal }
			cmd := &cobra.Command{}
			var stderr bytes.Buffer
			cmd.SetIn(strings.NewReader(tc.input))
			cmd.SetErr(&stderr)
			got, err := confirmDeployment(cmd, tc.yes)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("confirm = %v, %v; want %v", got, err, tc.want)
			}
			if tc.terminal && !tc.yes && !strings.Contains(stderr.String(), "Are you sure you want to execute the deployment? (y/N): ") {
				t.Errorf("no prompt: %q", stderr.String())
			}
		})
	}
}
