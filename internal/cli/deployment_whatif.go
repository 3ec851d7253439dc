package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"

	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// This file prints a what-if result the way az's what-if formatter does:
// a legend of the symbols used, the changes grouped by scope, each with its
// relative resource ID and API version, a created or deleted resource's
// whole body, a modified one's property deltas, then the counts and the
// diagnostics. keyless adds one section, "Access changes", from the
// result's properties.accessChanges. az's noise notice is left out: it
// asks for reports to Azure about Azure's predictions.

// Terminal colours, as az's what-if uses them (256-colour ANSI).
const (
	colorOrange     = "\x1b[38;5;208m"
	colorGreen      = "\x1b[38;5;77m"
	colorPurple     = "\x1b[38;5;141m"
	colorBlue       = "\x1b[38;5;39m"
	colorGray       = "\x1b[38;5;246m"
	colorRed        = "\x1b[38;5;203m"
	colorDarkYellow = "\x1b[38;5;136m"
	colorReset      = "\x1b[0m"
)

// useColor says whether output to f may be coloured: f is a terminal and
// NO_COLOR (https://no-color.org) is not set to anything.
func useColor(f any) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	file, ok := f.(*os.File)
	return ok && isatty.IsTerminal(file.Fd())
}

// Change kinds. A property's NoEffect and Array are folded into the
// resource kinds for the legend, as az does.
const (
	kindCreate      = "Create"
	kindDelete      = "Delete"
	kindModify      = "Modify"
	kindDeploy      = "Deploy"
	kindNoChange    = "NoChange"
	kindIgnore      = "Ignore"
	kindUnsupported = "Unsupported"
	kindNoEffect    = "NoEffect"
	kindArray       = "Array"
)

var changeSymbol = map[string]string{
	kindCreate: "+", kindDelete: "-", kindModify: "~", kindDeploy: "!", kindNoChange: "=",
	kindIgnore: "*", kindUnsupported: "x", kindNoEffect: "x", kindArray: "~",
}

var changeColor = map[string]string{
	kindCreate: colorGreen, kindDelete: colorOrange, kindModify: colorPurple, kindDeploy: colorBlue,
	kindNoChange: colorReset, kindIgnore: colorGray, kindUnsupported: colorGray, kindNoEffect: colorGray, kindArray: colorPurple,
}

// changeWeight orders resources and the legend: deletions first.
var changeWeight = map[string]int{
	kindDelete: 0, kindCreate: 1, kindDeploy: 2, kindModify: 3, kindNoChange: 4, kindUnsupported: 5, kindIgnore: 6, kindNoEffect: 7,
}

// propertyWeight orders property changes.
var propertyWeight = map[string]int{kindDelete: 0, kindCreate: 1, kindModify: 2, kindArray: 2, kindNoEffect: 3}

// colorText builds coloured text with nested colour scopes: leaving a
// scope restores the enclosing colour (or resets), as az's
// ColoredStringBuilder does. Without colour it is plain text.
type colorText struct {
	b      strings.Builder
	color  bool
	scopes []string
}

func (c *colorText) write(s string) *colorText { c.b.WriteString(s); return c }

func (c *colorText) line(s string) *colorText { return c.write(s + "\n") }

func (c *colorText) colored(s, color string) *colorText {
	c.push(color)
	c.write(s)
	c.pop()
	return c
}

func (c *colorText) push(color string) {
	if c.color {
		c.scopes = append(c.scopes, color)
		c.b.WriteString(color)
	}
}

func (c *colorText) pop() {
	if !c.color {
		return
	}
	c.scopes = c.scopes[:len(c.scopes)-1]
	if n := len(c.scopes); n > 0 {
		c.b.WriteString(c.scopes[n-1])
	} else {
		c.b.WriteString(colorReset)
	}
}

func (c *colorText) indent(level int) { c.write(strings.Repeat("  ", level)) }

// whatIfOptions are what-if's printing flags.
type whatIfOptions struct {
	color bool
	// exclude are change types left out (-x), lower case.
	exclude map[string]bool
	// idsOnly prints resource IDs without bodies or deltas
	// (--what-if-result-format ResourceIdOnly).
	idsOnly bool
}

// formatWhatIf renders a what-if result.
func formatWhatIf(res whatIfResult, opts whatIfOptions) string {
	var changes []*armdeploy.WhatIfChange
	if res.Properties != nil {
		for _, c := range res.Properties.Changes {
			if c == nil || c.ChangeType == nil || opts.exclude[strings.ToLower(string(*c.ChangeType))] {
				continue
			}
			if opts.idsOnly {
				c = &armdeploy.WhatIfChange{ChangeType: c.ChangeType, ResourceID: c.ResourceID, UnsupportedReason: c.UnsupportedReason}
			}
			changes = append(changes, c)
		}
	}
	t := &colorText{color: opts.color}
	writeLegend(t, changes)
	writeResourceChanges(t, changes)
	writeChangeCounts(t, changes)
	writeDiagnostics(t, changes)
	t.write("\n")
	if access, ok := res.accessChanges(); ok {
		writeAccessChanges(t, access)
	}
	return t.b.String()
}

func kindOf(c *armdeploy.WhatIfChange) string { return string(*c.ChangeType) }

func propertyKindOf(p *armdeploy.WhatIfPropertyChange) string {
	if p.PropertyChangeType == nil {
		return kindNoEffect
	}
	return string(*p.PropertyChangeType)
}

func writeLegend(t *colorText, changes []*armdeploy.WhatIfChange) {
	if len(changes) == 0 {
		return
	}
	kinds := map[string]bool{}
	var walk func(ps []*armdeploy.WhatIfPropertyChange)
	walk = func(ps []*armdeploy.WhatIfPropertyChange) {
		for _, p := range ps {
			k := propertyKindOf(p)
			if k == kindArray {
				k = kindModify
			}
			kinds[k] = true
			walk(p.Children)
		}
	}
	for _, c := range changes {
		kinds[kindOf(c)] = true
		walk(c.Delta)
	}
	ordered := sortedKeys(kinds)
	sort.SliceStable(ordered, func(i, j int) bool { return changeWeight[ordered[i]] < changeWeight[ordered[j]] })
	t.write("Resource and property changes are indicated with ")
	if len(ordered) == 1 {
		t.line("this symbol:")
	} else {
		t.line("these symbols:")
	}
	for _, k := range ordered {
		t.indent(1)
		t.colored(changeSymbol[k], changeColor[k]).write(" ").line(k)
	}
}

func writeResourceChanges(t *colorText, changes []*armdeploy.WhatIfChange) {
	if len(changes) == 0 {
		return
	}
	byScope := map[string][]*armdeploy.WhatIfChange{}
	scopeName := map[string]string{}
	for _, c := range changes {
		scope, _ := splitResourceID(derefString(c.ResourceID))
		key := strings.ToUpper(scope)
		byScope[key] = append(byScope[key], c)
		if _, ok := scopeName[key]; !ok {
			scopeName[key] = scope
		}
	}
	t.write("\nThe deployment will update the following ")
	if len(byScope) == 1 {
		t.line("scope:")
	} else {
		t.line("scopes:")
	}
	for _, key := range sortedKeys(byScope) {
		inScope := byScope[key]
		sort.SliceStable(inScope, func(i, j int) bool {
			a, b := inScope[i], inScope[j]
			if wa, wb := changeWeight[kindOf(a)], changeWeight[kindOf(b)]; wa != wb {
				return wa < wb
			}
			return relativeID(a) < relativeID(b)
		})
		t.write("\n").line("Scope: " + scopeName[key])
		// One colour scope for each run of changes of one kind.
		for i, c := range inScope {
			if i == 0 || kindOf(inScope[i-1]) != kindOf(c) {
				t.push(changeColor[kindOf(c)])
			}
			writeResourceChange(t, c, i == len(inScope)-1)
			if i == len(inScope)-1 || kindOf(inScope[i+1]) != kindOf(c) {
				t.pop()
			}
		}
	}
}

func relativeID(c *armdeploy.WhatIfChange) string {
	_, rel := splitResourceID(derefString(c.ResourceID))
	return rel
}

func writeResourceChange(t *colorText, c *armdeploy.WhatIfChange, last bool) {
	kind := kindOf(c)
	t.write("\n")
	t.indent(1)
	t.write(changeSymbol[kind] + " ").write(relativeID(c))
	if v := apiVersionOf(c); v != "" {
		t.push(colorReset)
		t.write(" [" + v + "]")
		t.pop()
	}
	switch {
	case kind == kindCreate && isNonEmptyObject(c.After):
		writeJSONValue(t, c.After, "", 0, 2)
	case kind == kindDelete && isNonEmptyObject(c.Before):
		writeJSONValue(t, c.Before, "", 0, 2)
	case len(c.Delta) > 0:
		t.push(colorReset)
		t.write("\n")
		writePropertyChanges(t, sortedPropertyChanges(c.Delta, false), 2)
		t.pop()
	case last:
		t.write("\n")
	}
}

func apiVersionOf(c *armdeploy.WhatIfChange) string {
	for _, doc := range []any{c.Before, c.After} {
		if m, ok := doc.(map[string]any); ok {
			if v, ok := m["apiVersion"].(string); ok {
				return v
			}
			return ""
		}
	}
	return ""
}

func sortedPropertyChanges(ps []*armdeploy.WhatIfPropertyChange, byIndex bool) []*armdeploy.WhatIfPropertyChange {
	out := make([]*armdeploy.WhatIfPropertyChange, 0, len(ps))
	for _, p := range ps {
		if p != nil {
			out = append(out, p)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		wa, wb := propertyWeight[propertyKindOf(a)], propertyWeight[propertyKindOf(b)]
		if byIndex {
			ia, _ := strconv.Atoi(derefString(a.Path))
			ib, _ := strconv.Atoi(derefString(b.Path))
			if ia != ib {
				return ia < ib
			}
			return wa < wb
		}
		if wa != wb {
			return wa < wb
		}
		return derefString(a.Path) < derefString(b.Path)
	})
	return out
}

func writePropertyChanges(t *colorText, ps []*armdeploy.WhatIfPropertyChange, indent int) {
	width := 0
	for _, p := range ps {
		if alignsPath(p) {
			width = max(width, len(derefString(p.Path)))
		}
	}
	for _, p := range ps {
		writePropertyChange(t, p, width, indent)
		t.write("\n")
	}
}

// alignsPath says whether a property change's path takes part in aligning
// the values after it: only paths followed by a one-line value do.
func alignsPath(p *armdeploy.WhatIfPropertyChange) bool {
	switch propertyKindOf(p) {
	case kindCreate:
		return isLeaf(p.After)
	case kindDelete, kindModify:
		return isLeaf(p.Before)
	}
	return len(p.Children) == 0
}

func writePropertyChange(t *colorText, p *armdeploy.WhatIfPropertyChange, width, indent int) {
	kind := propertyKindOf(p)
	switch kind {
	case kindCreate:
		writePropertyPath(t, p, p.After, width, indent)
		writeColoredJSON(t, p.After, colorGreen, indent+1)
	case kindDelete:
		writePropertyPath(t, p, p.Before, width, indent)
		writeColoredJSON(t, p.Before, colorOrange, indent+1)
	case kindModify:
		writePropertyPath(t, p, p.Before, width, indent)
		if len(p.Children) > 0 {
			t.write("\n\n")
			writePropertyChanges(t, sortedPropertyChanges(p.Children, false), indent+1)
			return
		}
		writeColoredJSON(t, p.Before, colorOrange, indent+1)
		if isNonEmptyObject(p.Before) {
			t.write("\n")
			t.indent(indent + 1)
		} else {
			t.write(" ")
		}
		t.write("=>")
		if !isNonEmptyObject(p.After) {
			t.write(" ")
		}
		writeColoredJSON(t, p.After, colorGreen, indent+1)
		if !isLeaf(p.Before) && isLeaf(p.After) {
			t.write("\n")
		}
	case kindArray:
		var children any
		if len(p.Children) > 0 {
			children = p.Children
		}
		writePropertyPath(t, p, children, width, indent)
		level := indent + 1
		if derefString(p.Path) == "" {
			// An array change nested in an array change has no
			// path of its own: its "[" starts the line.
			level--
			t.indent(level)
		}
		if len(p.Children) == 0 {
			t.line("[]")
			return
		}
		t.line("[")
		writePropertyChanges(t, sortedPropertyChanges(p.Children, true), level)
		t.indent(level)
		t.write("]")
	default: // NoEffect
		writePropertyPath(t, p, p.After, width, indent)
		writeColoredJSON(t, p.After, colorGray, indent+1)
	}
}

func writePropertyPath(t *colorText, p *armdeploy.WhatIfPropertyChange, value any, width, indent int) {
	path := derefString(p.Path)
	if path == "" {
		return
	}
	pad := width - len(path) + 1
	switch {
	case isNonEmptyArray(value):
		pad = 1
	case isNonEmptyObject(value):
		pad = 0
	case propertyKindOf(p) == kindModify && len(p.Children) > 0:
		pad = 0
	}
	if children, ok := value.([]*armdeploy.WhatIfPropertyChange); ok && len(children) > 0 {
		pad = 1
	}
	kind := propertyKindOf(p)
	t.indent(indent)
	t.colored(changeSymbol[kind], changeColor[kind]).write(" ")
	t.write(path)
	t.colored(":", colorReset)
	t.write(strings.Repeat(" ", max(pad, 0)))
}

func writeColoredJSON(t *colorText, v any, color string, indent int) {
	t.push(color)
	writeJSONValue(t, v, "", 0, indent)
	t.pop()
}

// writeJSONValue prints a value as az's what-if does: leaves inline,
// objects as aligned "path: value" lines with nested objects flattened into
// dotted paths, arrays as indexed lines in brackets.
func writeJSONValue(t *colorText, v any, path string, width, indent int) {
	switch {
	case isLeaf(v):
		writeJSONPath(t, path, width-len(path)+1, indent)
		t.write(leafText(v))
	case isNonEmptyArray(v):
		writeJSONPath(t, path, 1, indent)
		writeJSONArray(t, v.([]any), indent)
	default:
		writeJSONObject(t, v.(map[string]any), path, width, indent)
	}
}

func writeJSONPath(t *colorText, path string, pad, indent int) {
	if path == "" {
		return
	}
	t.indent(indent)
	t.write(path)
	t.colored(":", colorReset)
	t.write(strings.Repeat(" ", max(pad, 0)))
}

func writeJSONArray(t *colorText, arr []any, indent int) {
	t.colored("[", colorReset).write("\n")
	lastLeaf := 0
	for i, e := range arr {
		if isLeaf(e) {
			lastLeaf = i
		}
	}
	width := len(strconv.Itoa(lastLeaf))
	for i, e := range arr {
		p := strconv.Itoa(i)
		if isNonEmptyObject(e) {
			writeJSONPath(t, p, 0, indent+1)
			writeJSONObject(t, e.(map[string]any), "", 0, indent+1)
		} else {
			writeJSONValue(t, e, p, width, indent+1)
		}
		t.write("\n")
	}
	t.indent(indent)
	t.colored("]", colorReset)
}

func writeJSONObject(t *colorText, obj map[string]any, path string, width, indent int) {
	root := path == ""
	if root {
		t.write("\n\n")
		width = objectPathWidth(obj)
		indent++
	}
	for _, k := range sortedKeys(obj) {
		child := obj[k]
		p := k
		if !root {
			p = path + "." + k
		}
		writeJSONValue(t, child, p, width, indent)
		if !isNonEmptyObject(child) {
			t.write("\n")
		}
	}
}

// objectPathWidth is the longest dotted path to a leaf of obj, arrays
// left out so that one long path to an array does not push every value
// right.
func objectPathWidth(obj map[string]any) int {
	width := 0
	for k, v := range obj {
		switch {
		case isNonEmptyArray(v):
			continue
		case isNonEmptyObject(v):
			width = max(width, len(k)+1+objectPathWidth(v.(map[string]any)))
		default:
			width = max(width, len(k))
		}
	}
	return width
}

func isLeaf(v any) bool {
	switch t := v.(type) {
	case nil, bool, string, float64, json.Number, int, int64:
		return true
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func isNonEmptyArray(v any) bool {
	a, ok := v.([]any)
	return ok && len(a) > 0
}

func isNonEmptyObject(v any) bool {
	m, ok := v.(map[string]any)
	return ok && len(m) > 0
}

func leafText(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case string:
		return `"` + t + `"`
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case []any:
		return "[]"
	case map[string]any:
		return "{}"
	}
	return fmt.Sprint(v)
}

func writeChangeCounts(t *colorText, changes []*armdeploy.WhatIfChange) {
	t.write("\nResource changes: ")
	if len(changes) == 0 {
		t.write("no change.")
		return
	}
	counts := map[string]int{}
	for _, c := range changes {
		counts[kindOf(c)]++
	}
	kinds := sortedKeys(counts)
	sort.SliceStable(kinds, func(i, j int) bool { return changeWeight[kinds[i]] < changeWeight[kinds[j]] })
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, countPhrase(k, counts[k]))
	}
	t.write(strings.Join(parts, ", ") + ".")
}

func countPhrase(kind string, n int) string {
	switch kind {
	case kindCreate:
		return fmt.Sprintf("%d to create", n)
	case kindDelete:
		return fmt.Sprintf("%d to delete", n)
	case kindDeploy:
		return fmt.Sprintf("%d to deploy", n)
	case kindModify:
		return fmt.Sprintf("%d to modify", n)
	case kindIgnore:
		return fmt.Sprintf("%d to ignore", n)
	case kindNoChange:
		return fmt.Sprintf("%d no change", n)
	case kindUnsupported:
		return fmt.Sprintf("%d unsupported", n)
	}
	return fmt.Sprintf("%d %s", n, strings.ToLower(kind))
}

func writeDiagnostics(t *colorText, changes []*armdeploy.WhatIfChange) {
	var unsupported []*armdeploy.WhatIfChange
	for _, c := range changes {
		if kindOf(c) == kindUnsupported {
			unsupported = append(unsupported, c)
		}
	}
	if len(unsupported) == 0 {
		return
	}
	t.write("\n\n").line(fmt.Sprintf("Diagnostics (%d): ", len(unsupported)))
	for _, c := range unsupported {
		t.push(colorDarkYellow)
		t.line(relativeID(c) + " (Unsupported) " + derefString(c.UnsupportedReason))
		t.pop()
	}
}

// writeAccessChanges is keyless's section: who gains or loses which role
// where, and which resources gain or lose which identity.
func writeAccessChanges(t *colorText, changes []accessChange) {
	if len(changes) == 0 {
		t.line("\nAccess changes: none.")
		return
	}
	t.line("\nThe deployment will change the following access:\n")
	counts := map[string]int{}
	for _, c := range changes {
		counts[c.changeType]++
		symbol, color := "+", colorGreen
		if c.changeType == "Revoke" || c.changeType == "Detach" {
			symbol, color = "-", colorOrange
		}
		t.indent(1)
		t.push(color)
		t.write(symbol + " " + fmt.Sprintf("%-6s", c.changeType) + " ")
		t.pop()
		switch c.changeType {
		case "Grant", "Revoke":
			role := c.roleName
			if role == "" {
				role = lastSegment(c.roleDefinitionID)
			}
			word := "to"
			if c.changeType == "Revoke" {
				word = "from"
			}
			t.write(role + " " + word + " " + principalText(c) + " at " + c.scope)
		default:
			word := "to"
			if c.changeType == "Detach" {
				word = "from"
			}
			_, resource := splitResourceID(c.resourceID)
			t.write(identityText(c.identity) + " " + word + " " + resource)
		}
		t.write("\n")
	}
	var parts []string
	for _, k := range []string{"Grant", "Revoke", "Attach", "Detach"} {
		if n := counts[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d to %s", n, strings.ToLower(k)))
		}
	}
	t.line("\nAccess changes: " + strings.Join(parts, ", ") + ".")
}

// principalText names the principal of a grant or revoke: its object ID,
// or, for a principal the deployment creates (not known before it runs),
// the identity it belongs to.
func principalText(c accessChange) string {
	if c.principalID != "" {
		return c.principalID
	}
	if c.identity != "" {
		_, rel := splitResourceID(c.identity)
		return "the new principal of " + rel
	}
	return "an unknown principal"
}

func identityText(id string) string {
	if strings.EqualFold(id, "SystemAssigned") || !strings.Contains(id, "/") {
		return id
	}
	_, rel := splitResourceID(id)
	return rel
}

func lastSegment(id string) string {
	if i := strings.LastIndex(id, "/"); i >= 0 {
		return id[i+1:]
	}
	return id
}

var (
	managementGroupPrefix = regexp.MustCompile(`(?i)^/?providers/Microsoft\.Management/managementGroups/([\w.()-]+)`)
	subscriptionPrefix    = regexp.MustCompile(`(?i)^/?subscriptions/([a-f0-9-]+)`)
	resourceGroupPrefix   = regexp.MustCompile(`(?i)^/resourceGroups/([-\w.()]+)`)
	relativeIDPrefix      = regexp.MustCompile(`(?i)^/providers/(.+)$`)
)

// splitResourceID splits a resource ID into the scope it is deployed at
// and its ID relative to that scope, as az's what-if does:
// /subscriptions/s/resourceGroups/g/providers/Microsoft.Web/sites/w is
// (/subscriptions/s/resourceGroups/g, Microsoft.Web/sites/w); a resource
// group itself is (/subscriptions/s, resourceGroups/g).
func splitResourceID(id string) (scope, relative string) {
	rest := id
	take := func(re *regexp.Regexp) (string, bool) {
		m := re.FindStringSubmatch(rest)
		if m == nil {
			return "", false
		}
		rest = rest[len(m[0]):]
		return m[1], true
	}
	mg, isMG := take(managementGroupPrefix)
	sub, isSub := take(subscriptionPrefix)
	group, isGroup := take(resourceGroupPrefix)
	rel, hasRel := take(relativeIDPrefix)
	switch {
	case isMG:
		mgID := "Microsoft.Management/ManagementGroups/" + mg
		if rel != "" {
			return "/providers/" + mgID, rel
		}
		return "/", mgID
	case isSub:
		subScope := "/subscriptions/" + strings.ToLower(sub)
		if isGroup {
			if hasRel {
				return subScope + "/resourceGroups/" + group, rel
			}
			return subScope, "resourceGroups/" + group
		}
		return subScope, rel
	}
	return "/", rel
}
