package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"

	"github.com/keyless-io/keyless/internal/bicep"
	"github.com/keyless-io/keyless/internal/testenv"
)

// The Bicep golden deploy-compare tests: each testdata/bicep/<name>.bicep
// is compiled by keyless's compiler and deployed through armresources'
// DeploymentsClient into one resource group; <name>.json, the template
// the official Bicep compiler is documented to emit for the same file
// (written by hand from its baselines), is deployed into a second group;
// and the official JSON decompiled by bicep.Decompile and compiled again
// is deployed into a third. The deployed results must be the same:
// resources by ID modulo the group, their types, tags and identity blocks,
// role assignments by role, principal (mapped back to the identity that
// owns it) and scope, nested deployments, and the deployments' outputs
// (with group names and principal IDs mapped the same way).

type bicepCase struct {
	name string
	// subscription: deployed at subscription scope; the file creates the
	// group named by its rgName parameter.
	subscription bool
	// params: deployed with <name>.bicepparam, compiled by keyless; the
	// official JSON with <name>.parameters.json, the parameters file the
	// official compiler writes for it (by hand from its baselines).
	params bool
	setup  func(t *testing.T, env *testenv.Env, group string)
}

func TestBicepIdentitiesAndRoleAssignments(t *testing.T) {
	runBicepCase(t, bicepCase{name: "identity"})
}

func TestBicepModulesWithOutputs(t *testing.T) { runBicepCase(t, bicepCase{name: "modules"}) }

func TestBicepLoops(t *testing.T) { runBicepCase(t, bicepCase{name: "loops"}) }

func TestBicepSubscriptionScopeGroupAndModule(t *testing.T) {
	runBicepCase(t, bicepCase{name: "subscription", subscription: true})
}

func TestBicepExistingResources(t *testing.T) {
	runBicepCase(t, bicepCase{name: "existing", setup: func(t *testing.T, env *testenv.Env, group string) {
		generic, _ := armresources.NewClient(env.Creds.SubscriptionID, env.AdminCredential(t), env.ARMOptions())
		id := "/subscriptions/" + env.Creds.SubscriptionID + "/resourceGroups/" + group + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-existing"
		p, err := generic.BeginCreateOrUpdateByID(context.Background(), id, "2023-01-31", armresources.GenericResource{Location: to.Ptr("westus")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.PollUntilDone(context.Background(), poll); err != nil {
			t.Fatal(err)
		}
	}})
}

func TestBicepUserDefinedTypes(t *testing.T) { runBicepCase(t, bicepCase{name: "types"}) }

// TestBicepCollectionsAndSafeAccess: a resource collection used as a
// whole (references()) and .? on conditional resources, deployed or not.
func TestBicepCollectionsAndSafeAccess(t *testing.T) { runBicepCase(t, bicepCase{name: "collections"}) }

// TestBicepParamsWithImports: a .bicepparam file whose values come from a
// wildcard import and imported functions deploys as the official
// compiler's parameters file does.
func TestBicepParamsWithImports(t *testing.T) {
	runBicepCase(t, bicepCase{name: "params", params: true})
}

func runBicepCase(t *testing.T, tc bicepCase) {
	env := testenv.Start(t, testenv.Options{})
	fsys := os.DirFS("testdata/bicep")
	res, err := bicep.Compile(fsys, tc.name+".bicep", bicep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Template == nil || bicep.ErrorCount(res.Diagnostics) > 0 {
		t.Fatalf("%s.bicep does not compile: %v", tc.name, res.Diagnostics)
	}
	official, err := os.ReadFile(path.Join("testdata/bicep", tc.name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var params, officialParams map[string]any
	if tc.params {
		pres, err := bicep.CompileParams(fsys, tc.name+".bicepparam", bicep.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if pres.Parameters == nil || bicep.ErrorCount(pres.Diagnostics) > 0 {
			t.Fatalf("%s.bicepparam does not compile: %v", tc.name, pres.Diagnostics)
		}
		params = parametersOf(t, pres.Parameters)
		raw, err := os.ReadFile(path.Join("testdata/bicep", tc.name+".parameters.json"))
		if err != nil {
			t.Fatal(err)
		}
		officialParams = parametersOf(t, raw)
		if !reflect.DeepEqual(params, officialParams) {
			t.Errorf("keyless's %s.bicepparam values differ from the official parameters file:\n%s", tc.name, pres.Parameters)
		}
	}
	roundTrip := decompileAndCompile(t, official)

	compiled := deployAndSnapshot(t, env, tc, "bicep", res.Template, params)
	want := deployAndSnapshot(t, env, tc, "official", official, officialParams)
	if len(want.Resources) == 0 || want.Outputs == "" || want.Outputs == "null" {
		t.Fatalf("the official JSON deployed nothing to compare: %+v", want)
	}
	if !reflect.DeepEqual(compiled, want) {
		t.Errorf("keyless's compilation of %s.bicep deploys differently from the official compiler's JSON:\n%s", tc.name, snapshotDiff(compiled, want))
	}
	again := deployAndSnapshot(t, env, tc, "roundtrip", roundTrip, officialParams)
	if !reflect.DeepEqual(again, want) {
		t.Errorf("%s.json decompiled and compiled again deploys differently from the JSON:\n%s", tc.name, snapshotDiff(again, want))
	}
}

// parametersOf is the parameters object of a deploymentParameters file.
func parametersOf(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var v struct {
		Parameters map[string]any `json:"parameters"`
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	return v.Parameters
}

// decompileAndCompile is the round trip: official JSON -> Bicep (with
// module files) -> keyless's template.
func decompileAndCompile(t *testing.T, official []byte) []byte {
	t.Helper()
	files, err := bicep.DecompileFiles(official, "main.bicep")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range files.Diagnostics {
		t.Errorf("decompiling: %s", d)
	}
	mfs := fstest.MapFS{}
	for name, src := range files.Files {
		mfs[name] = &fstest.MapFile{Data: src}
	}
	res, err := bicep.Compile(mfs, "main.bicep", bicep.Options{NoLint: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Template == nil {
		t.Fatalf("the decompiled Bicep does not compile: %v\n%s", res.Diagnostics, files.Files["main.bicep"])
	}
	return res.Template
}

// snapshot is what a deployment left, with everything that differs between
// groups replaced by stable names.
type snapshot struct {
	Resources       []string // "id type tags identity"
	RoleAssignments []string // "scope role principal principalType"
	Deployments     []string
	Outputs         string
}

func deployAndSnapshot(t *testing.T, env *testenv.Env, tc bicepCase, variant string, template []byte, params map[string]any) snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	group := "rg-" + tc.name + "-" + variant
	var tpl map[string]any
	if err := json.Unmarshal(template, &tpl); err != nil {
		t.Fatal(err)
	}
	client := deploymentsClient(t, env)
	var outputs any
	if tc.subscription {
		p, err := client.BeginCreateOrUpdateAtSubscriptionScope(ctx, "main-"+variant, armdeploy.Deployment{Location: to.Ptr("westus"),
			Properties: &armdeploy.DeploymentProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: tpl,
				Parameters: map[string]any{"rgName": map[string]any{"value": group}}}}, nil)
		if err != nil {
			t.Fatalf("%s: %v", variant, err)
		}
		r, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatalf("%s: %v", variant, err)
		}
		if *r.Properties.ProvisioningState != armdeploy.ProvisioningStateSucceeded {
			t.Fatalf("%s: %s %+v", variant, *r.Properties.ProvisioningState, r.Properties.Error)
		}
		outputs = r.Properties.Outputs
	} else {
		createGroup(t, env, group)
		if tc.setup != nil {
			tc.setup(t, env, group)
		}
		p, err := client.BeginCreateOrUpdate(ctx, group, "main", armdeploy.Deployment{
			Properties: &armdeploy.DeploymentProperties{Mode: to.Ptr(armdeploy.DeploymentModeIncremental), Template: tpl, Parameters: params}}, nil)
		if err != nil {
			t.Fatalf("%s: %v", variant, err)
		}
		r, err := p.PollUntilDone(ctx, poll)
		if err != nil {
			t.Fatalf("%s: %v", variant, err)
		}
		if *r.Properties.ProvisioningState != armdeploy.ProvisioningStateSucceeded {
			t.Fatalf("%s: %s %+v", variant, *r.Properties.ProvisioningState, r.Properties.Error)
		}
		outputs = r.Properties.Outputs
	}
	return snapshotGroup(t, env, group, outputs)
}

func snapshotGroup(t *testing.T, env *testenv.Env, group string, outputs any) snapshot {
	t.Helper()
	ctx := context.Background()
	sub := env.Creds.SubscriptionID
	cred := env.AdminCredential(t)
	groupID := "/subscriptions/" + sub + "/resourceGroups/" + group
	// Names that differ between groups, longest first so that an ID is
	// replaced before the group name inside it.
	replace := map[string]string{}
	generic, _ := armresources.NewClient(sub, cred, env.ARMOptions())
	list := drain(t, generic.NewListByResourceGroupPager(group, nil), func(r armresources.ClientListByResourceGroupResponse) []*armresources.GenericResourceExpanded {
		return r.Value
	})
	type found struct {
		id, typ string
		res     armresources.GenericResource
	}
	var resources []found
	for _, r := range list {
		full, err := generic.GetByID(ctx, *r.ID, "2023-01-31", nil)
		if err != nil {
			t.Fatalf("GET %s: %v", *r.ID, err)
		}
		resources = append(resources, found{*r.ID, *r.Type, full.GenericResource})
		norm := "{group}" + (*r.ID)[len(groupID):]
		if full.Identity != nil && full.Identity.PrincipalID != nil {
			replace[*full.Identity.PrincipalID] = "{system identity of " + norm + "}"
		}
		if props, ok := full.Properties.(map[string]any); ok && strings.EqualFold(*r.Type, "Microsoft.ManagedIdentity/userAssignedIdentities") {
			if p, ok := props["principalId"].(string); ok {
				replace[p] = "{principal of " + norm + "}"
			}
			if c, ok := props["clientId"].(string); ok {
				replace[c] = "{client of " + norm + "}"
			}
		}
	}
	replace[groupID] = "{group}"
	replace[group] = "{group name}"
	replace[sub] = "{subscription}"
	keys := make([]string, 0, len(replace))
	for k := range replace {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	normalize := func(s string) string {
		for _, k := range keys {
			s = replaceFold(s, k, replace[k])
		}
		return s
	}

	var snap snapshot
	for _, r := range resources {
		tags, _ := json.Marshal(r.res.Tags)
		ident := "none"
		if r.res.Identity != nil {
			var uamis []string
			for id := range r.res.Identity.UserAssignedIdentities {
				uamis = append(uamis, normalize(id))
			}
			sort.Strings(uamis)
			ident = string(*r.res.Identity.Type) + " " + strings.Join(uamis, ",")
		}
		snap.Resources = append(snap.Resources, normalize(r.id)+" "+r.typ+" tags="+string(tags)+" identity="+ident)
	}
	sort.Strings(snap.Resources)

	assigns, _ := armauthorization.NewRoleAssignmentsClient(sub, cred, env.ARMOptions())
	for _, a := range drain(t, assigns.NewListForSubscriptionPager(nil), func(r armauthorization.RoleAssignmentsClientListForSubscriptionResponse) []*armauthorization.RoleAssignment {
		return r.Value
	}) {
		scope := *a.Properties.Scope
		if !strings.HasPrefix(strings.ToLower(scope), strings.ToLower(groupID)) {
			continue
		}
		ptype := ""
		if a.Properties.PrincipalType != nil {
			ptype = string(*a.Properties.PrincipalType)
		}
		snap.RoleAssignments = append(snap.RoleAssignments, normalize(scope)+" role="+normalize(*a.Properties.RoleDefinitionID)+" principal="+normalize(*a.Properties.PrincipalID)+" "+ptype)
	}
	sort.Strings(snap.RoleAssignments)

	client := deploymentsClient(t, env)
	for _, d := range drain(t, client.NewListByResourceGroupPager(group, nil), func(r armdeploy.DeploymentsClientListByResourceGroupResponse) []*armdeploy.DeploymentExtended {
		return r.Value
	}) {
		if *d.Name == "main" {
			continue
		}
		snap.Deployments = append(snap.Deployments, *d.Name+" "+string(*d.Properties.ProvisioningState))
	}
	sort.Strings(snap.Deployments)
	raw, _ := json.Marshal(outputs)
	snap.Outputs = normalize(string(raw))
	return snap
}

func replaceFold(s, old, repl string) string {
	if old == "" {
		return s
	}
	lower, lowerOld := strings.ToLower(s), strings.ToLower(old)
	var b strings.Builder
	for {
		i := strings.Index(lower, lowerOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}

func snapshotDiff(got, want snapshot) string {
	g, _ := json.MarshalIndent(got, "", "  ")
	w, _ := json.MarshalIndent(want, "", "  ")
	return "--- got\n" + string(g) + "\n--- want\n" + string(w)
}
