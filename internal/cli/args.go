package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// This file holds what the az-shaped command groups share: az's way of
// reading arguments (multi-word flags, --tags, --ids, @file values), the
// shape az prints results in, and the one place an error becomes the
// one-line message the binary prints.

// ---- Multi-word flags -------------------------------------------------

// multiWordFlags makes the named long flags of cmd take every following word
// up to the next flag, as az's argparse nargs='*' flags do:
// `--tags env=prod team=web`, `--assign-identity [system] id-a`. pflag gives
// a flag exactly one word, so cobra's own parsing is switched off for cmd
// and done in PreRunE on rewritten words: `--tags a b` becomes
// `--tags=a --tags=b`, and a bare `--tags` becomes `--tags=` (one empty
// value, which for --tags clears them and for --assign-identity means
// "[system]", as in az). The flags must be StringArray flags.
func multiWordFlags(cmd *cobra.Command, names ...string) {
	multi := map[string]bool{}
	for _, n := range names {
		multi[n] = true
	}
	cmd.DisableFlagParsing = true
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		// cobra skips its flag checks while DisableFlagParsing is set, so
		// they run here, on the parsed flags.
		c.DisableFlagParsing = false
		defer func() { c.DisableFlagParsing = true }()
		if err := c.ParseFlags(expandMultiWord(args, multi)); err != nil {
			return c.FlagErrorFunc()(c, err)
		}
		if help, _ := c.Flags().GetBool("help"); help {
			return pflag.ErrHelp
		}
		if rest := c.Flags().Args(); len(rest) > 0 {
			return fmt.Errorf("unrecognized arguments: %s", strings.Join(rest, " "))
		}
		if err := c.ValidateRequiredFlags(); err != nil {
			return err
		}
		return c.ValidateFlagGroups()
	}
}

// expandMultiWord rewrites `--flag v1 v2` into `--flag=v1 --flag=v2` for
// the flags in multi; every other word is passed through unchanged.
func expandMultiWord(args []string, multi map[string]bool) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		word := args[i]
		if word == "--" {
			return append(out, args[i:]...)
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(word, "--"), "=")
		if !strings.HasPrefix(word, "--") || !multi[name] {
			out = append(out, word)
			continue
		}
		var values []string
		if hasValue {
			values = append(values, value)
		}
		for i+1 < len(args) && !isFlagWord(args[i+1]) {
			i++
			values = append(values, args[i])
		}
		if len(values) == 0 {
			values = []string{""}
		}
		for _, v := range values {
			out = append(out, "--"+name+"="+v)
		}
	}
	return out
}

func isFlagWord(s string) bool { return len(s) > 1 && s[0] == '-' }

// nonEmpty drops the empty words a bare multi-word flag leaves.
func nonEmpty(words []string) []string {
	var out []string
	for _, w := range words {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// ---- Values -----------------------------------------------------------

// parseTags reads az's --tags words, key[=value] ...; a key without "=" gets
// the empty value, and "" alone (or no word) means no tags, which clears
// them on a write. No flag at all gives nil: tags are left out.
func parseTags(words []string) (map[string]*string, error) {
	if len(words) == 0 {
		return nil, nil
	}
	tags := map[string]*string{}
	for _, w := range words {
		if w == "" {
			continue
		}
		k, v, _ := strings.Cut(w, "=")
		if strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--tags: %q has no key; give key[=value] words", w)
		}
		tags[k] = to.Ptr(v)
	}
	return tags, nil
}

// tagFilter turns az's `--tag key[=value]` into the $filter ARM lists take.
func tagFilter(tag string) string {
	if tag == "" {
		return ""
	}
	k, v, hasValue := strings.Cut(tag, "=")
	f := "tagName eq " + odataString(k)
	if hasValue {
		f += " and tagValue eq " + odataString(v)
	}
	return f
}

// odataString quotes s for an OData $filter (quotes are doubled).
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// jsonArgument reads a JSON-valued flag; "@path" reads the file, as az
// accepts for every argument.
func jsonArgument(flag, value string, into any) error {
	raw := []byte(value)
	if strings.HasPrefix(value, "@") {
		b, err := os.ReadFile(value[1:])
		if err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		raw = b
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s is not valid JSON: %w", flag, err)
	}
	return nil
}

// subscriptionOf is the subscription a command acts in, or a clear error
// when neither --subscription nor the profile gives one.
func subscriptionOf(cmd *cobra.Command, conn *Connection) (string, error) {
	if s := conn.SubscriptionID(cmd); s != "" {
		return s, nil
	}
	return "", errors.New("no subscription: give --subscription, or use credentials with a subscriptionId (or AZURE_SUBSCRIPTION_ID)")
}

// pollOptions wait for long-running operations. keyless finishes them
// before answering, so the first poll, made at once, normally ends them.
var pollOptions = &runtime.PollUntilDoneOptions{Frequency: 2 * time.Second}

// ---- Resource IDs -----------------------------------------------------

const (
	userAssignedIdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities"
	// defaultAPIVersion is used for resource types keyless has no better
	// version for: generic resources accept any date version.
	defaultAPIVersion = "2023-01-01"
)

// apiVersions are what `resource` commands send by default: a version the
// real provider publishes, so that the same command line works against
// Azure, and for the types keyless serves itself, one its routes accept.
var apiVersions = map[string]string{
	"microsoft.resources/resourcegroups":                                            "2025-04-01",
	"microsoft.managedidentity/userassignedidentities":                              "2023-01-31",
	"microsoft.managedidentity/userassignedidentities/federatedidentitycredentials": "2023-01-31",
	"microsoft.web/sites":                                                           "2023-12-01",
	"microsoft.web/sites/slots":                                                     "2023-12-01",
	"microsoft.web/serverfarms":                                                     "2023-12-01",
	"microsoft.compute/virtualmachines":                                             "2024-07-01",
	"microsoft.compute/virtualmachinescalesets":                                     "2024-07-01",
	"microsoft.containerservice/managedclusters":                                    "2024-09-01",
	"microsoft.app/containerapps":                                                   "2024-03-01",
	"microsoft.app/jobs":                                                            "2024-03-01",
	"microsoft.storage/storageaccounts":                                             "2023-05-01",
	"microsoft.keyvault/vaults":                                                     "2023-07-01",
	"microsoft.hybridcompute/machines":                                              "2024-07-10",
	"microsoft.automation/automationaccounts":                                       "2023-11-01",
	"microsoft.datafactory/factories":                                               "2018-06-01",
	"microsoft.logic/workflows":                                                     "2019-05-01",
}

// apiVersionFor is --api-version, else the default for the resource ID's
// type.
func apiVersionFor(flag, resourceID string) string {
	if flag != "" {
		return flag
	}
	if id, err := arm.ParseResourceID(resourceID); err == nil {
		if v, ok := apiVersions[strings.ToLower(id.ResourceType.String())]; ok {
			return v
		}
	}
	return defaultAPIVersion
}

// resourceSpec is a resource named az's way, by parts:
// -g, -n, --namespace, --resource-type, --parent.
type resourceSpec struct {
	group, name, namespace, resourceType, parent string
}

// id builds /subscriptions/{s}/resourceGroups/{g}/providers/{ns}/
// [{parent}/]{type}/{name}. --resource-type may carry the namespace
// (Microsoft.Web/sites) and, for a child type, its parent types
// (Microsoft.Network/virtualNetworks/subnets, with --parent
// virtualNetworks/vnet1).
func (r resourceSpec) id(subscriptionID string) (string, error) {
	if r.group == "" || r.name == "" || r.resourceType == "" {
		return "", errors.New("name the resource with --ids, or with --resource-group, --name and --resource-type (plus --namespace and --parent as needed)")
	}
	ns, typ := r.namespace, strings.Trim(r.resourceType, "/")
	if segs := strings.Split(typ, "/"); len(segs) > 1 {
		if ns != "" && !strings.EqualFold(ns, segs[0]) {
			return "", fmt.Errorf("--namespace %s does not match --resource-type %s", ns, r.resourceType)
		}
		ns, typ = segs[0], segs[len(segs)-1]
		if parentTypes := segs[1 : len(segs)-1]; len(parentTypes) > 0 {
			if r.parent == "" {
				return "", fmt.Errorf("--resource-type %s is a child type: give --parent %s/{name}", r.resourceType, strings.Join(parentTypes, "/{name}/"))
			}
			if !sameParentTypes(r.parent, parentTypes) {
				return "", fmt.Errorf("--parent %s does not match the parent types of --resource-type %s", r.parent, r.resourceType)
			}
		}
	}
	if ns == "" {
		return "", fmt.Errorf("give --namespace, or a --resource-type with its namespace (e.g. Microsoft.Web/%s)", typ)
	}
	id := "/subscriptions/" + subscriptionID + "/resourceGroups/" + r.group + "/providers/" + ns + "/"
	if p := strings.Trim(r.parent, "/"); p != "" {
		if len(strings.Split(p, "/"))%2 != 0 {
			return "", fmt.Errorf("--parent %s must be type/name pairs (e.g. virtualNetworks/vnet1)", r.parent)
		}
		id += p + "/"
	}
	return id + typ + "/" + r.name, nil
}

func sameParentTypes(parent string, types []string) bool {
	segs := strings.Split(strings.Trim(parent, "/"), "/")
	if len(segs) != 2*len(types) {
		return false
	}
	for i, t := range types {
		if !strings.EqualFold(segs[2*i], t) {
			return false
		}
	}
	return true
}

// checkIDs validates --ids values as ARM resource IDs, optionally of one
// type.
func checkIDs(ids []string, wantType string) ([]*arm.ResourceID, error) {
	var out []*arm.ResourceID
	for _, s := range ids {
		id, err := arm.ParseResourceID(s)
		if err != nil || id.SubscriptionID == "" || id.ResourceGroupName == "" || id.Name == "" {
			return nil, fmt.Errorf("--ids: %q is not a resource ID of the form /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/{namespace}/{type}/{name}", s)
		}
		if wantType != "" && !strings.EqualFold(id.ResourceType.String(), wantType) {
			return nil, fmt.Errorf("--ids: %q is a %s, not a %s", s, id.ResourceType.String(), wantType)
		}
		out = append(out, id)
	}
	return out, nil
}

// userAssignedIdentityID reads one identity reference of --assign-identity
// or --identities: a resource ID as given, or the name of an identity in the
// resource's own group and subscription, as az resolves it.
func userAssignedIdentityID(ref, subscriptionID, group string) (string, error) {
	if strings.HasPrefix(ref, "/") {
		if _, err := checkIDs([]string{ref}, userAssignedIdentityType); err != nil {
			return "", fmt.Errorf("identity %q is not a user-assigned identity ID", ref)
		}
		return ref, nil
	}
	if strings.Contains(ref, "/") {
		return "", fmt.Errorf("identity %q is neither a name nor a resource ID", ref)
	}
	return "/subscriptions/" + subscriptionID + "/resourceGroups/" + group + "/providers/" + userAssignedIdentityType + "/" + ref, nil
}

// isSystemWord says whether an identity word means the system-assigned
// identity: az spells it "[system]"; "system" is accepted too.
func isSystemWord(w string) bool {
	return strings.EqualFold(w, "[system]") || strings.EqualFold(w, "system")
}

// ---- What is printed --------------------------------------------------

// printShape says how a command's result differs from the SDK model's REST
// shape when az prints it.
type printShape struct {
	// flatten lifts "properties" members to the top level, as the Python
	// SDK's x-ms-client-flatten does for identities and federated
	// credentials (so `--query principalId` works as with az).
	flatten bool
	// table is the command's az table transformer, applied to -o table
	// when there is no --query.
	table func(doc any) any
}

// printResult prints an SDK result the way az does: the REST document with
// resourceGroup added to every object whose id is in a resource group
// (azure-cli's _add_resource_group), flattened where az flattens, and
// through the command's table transformer for -o table.
func printResult(cmd *cobra.Command, v any, shape printShape) error {
	doc, err := azDocument(v, shape.flatten)
	if err != nil {
		return err
	}
	format, _ := cmd.Flags().GetString("output")
	query, _ := cmd.Flags().GetString("query")
	if shape.table != nil && strings.EqualFold(format, "table") && query == "" {
		doc = shape.table(doc)
	}
	return Print(cmd, doc)
}

// azDocument turns v into plain JSON values (maps print with sorted keys,
// as az's JSON output does) shaped as az prints them.
func azDocument(v any, flatten bool) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if flatten {
		forEachItem(doc, flattenProperties)
	}
	addResourceGroup(doc)
	return doc, nil
}

func forEachItem(doc any, f func(map[string]any)) {
	switch t := doc.(type) {
	case []any:
		for _, e := range t {
			forEachItem(e, f)
		}
	case map[string]any:
		f(t)
	}
}

func flattenProperties(o map[string]any) {
	props, ok := o["properties"].(map[string]any)
	if !ok {
		return
	}
	delete(o, "properties")
	for k, v := range props {
		if _, taken := o[k]; !taken {
			o[k] = v
		}
	}
}

// addResourceGroup follows azure-cli's _add_resource_group: an object with
// an id of the form /subscriptions/{s}/resourceGroups/{g}/providers/{ns}/
// {type}/{name} ("resourcegroups" in any case, as Microsoft.ManagedIdentity
// spells it) and no resourceGroup member gets one; nested objects too.
func addResourceGroup(doc any) {
	switch t := doc.(type) {
	case []any:
		for _, e := range t {
			addResourceGroup(e)
		}
	case map[string]any:
		if _, has := t["resourceGroup"]; !has {
			if id, ok := t["id"].(string); ok {
				if parts := strings.Split(id, "/"); len(parts) > 8 && strings.EqualFold(parts[3], "resourceGroups") {
					t["resourceGroup"] = parts[4]
				}
			}
		}
		for k, v := range t {
			if k != "sourceVault" {
				addResourceGroup(v)
			}
		}
	}
}

// tableRow is one row of a table transformer: columns in the given order.
func tableRow(kv ...any) *orderedObject {
	o := &orderedObject{values: map[string]any{}}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		o.keys = append(o.keys, k)
		o.values[k] = kv[i+1]
	}
	return o
}

// member reads a nested member of a plain JSON document ("" if absent).
func member(doc any, path ...string) any {
	for _, p := range path {
		m, ok := doc.(map[string]any)
		if !ok {
			return ""
		}
		if doc, ok = m[p]; !ok {
			return ""
		}
	}
	return doc
}

// ---- Errors -----------------------------------------------------------

// ReportError prints err the way the keyless binary reports a failed
// command, "keyless: <one line>" on w, and returns the exit code.
// cmd/keyless/main.go calls it with os.Stderr; an ExitError only sets the
// code (its command has already said what happened).
func ReportError(w io.Writer, err error) int {
	var exit ExitError
	if errors.As(err, &exit) {
		return exit.Code
	}
	fmt.Fprintln(w, "keyless:", ErrorMessage(err))
	return 1
}

// ErrorMessage is err in one line. An ARM error reads as az prints it,
// "(ResourceGroupNotFound) Resource group 'x' could not be found."; a failed
// token request gives the credential and the token service's error; any
// other error is folded onto one line.
func ErrorMessage(err error) string {
	var authErr *azidentity.AuthenticationFailedError
	var respErr *azcore.ResponseError
	switch {
	case errors.As(err, &authErr):
		return authenticationMessage(authErr)
	case errors.As(err, &respErr):
		return responseMessage(respErr)
	}
	return oneLine(err.Error())
}

func responseMessage(e *azcore.ResponseError) string {
	code := e.ErrorCode
	var message string
	if e.RawResponse != nil {
		if body, err := runtime.Payload(e.RawResponse); err == nil && len(body) > 0 {
			var doc struct {
				Error *struct {
					Code    string `json:"code"`
					Message string `json:"message"`
				} `json:"error"`
				Code    string `json:"code"`
				Message string `json:"message"`
			}
			if json.Unmarshal(body, &doc) == nil {
				if doc.Error != nil {
					doc.Code, doc.Message = doc.Error.Code, doc.Error.Message
				}
				if code == "" {
					code = doc.Code
				}
				message = doc.Message
			}
		}
	}
	if message == "" {
		message = fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
		if r := e.RawResponse; r != nil && r.Request != nil {
			message = r.Request.Method + " " + r.Request.URL.Path + ": " + message
		}
	}
	if code == "" {
		return oneLine(message)
	}
	return "(" + code + ") " + oneLine(message)
}

func authenticationMessage(e *azidentity.AuthenticationFailedError) string {
	first, _, _ := strings.Cut(strings.TrimSpace(e.Error()), "\n")
	first = strings.TrimSpace(first)
	if e.RawResponse == nil {
		return oneLine(e.Error())
	}
	body, err := runtime.Payload(e.RawResponse)
	var doc struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if err != nil || json.Unmarshal(body, &doc) != nil || doc.Error == "" {
		return fmt.Sprintf("%s (%d %s)", first, e.RawResponse.StatusCode, http.StatusText(e.RawResponse.StatusCode))
	}
	desc, _, _ := strings.Cut(strings.TrimSpace(doc.Description), "\n")
	return oneLine(first + " (" + doc.Error + ") " + desc)
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && strings.Trim(l, "-") != "" {
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, " ")
}

// derefString is *p, or "" for nil.
func derefString(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
