package expr

import (
	"strings"
)

// Resource ID functions, computed from the Host's Scope. Formats (Azure
// docs, "Resource functions for ARM templates"):
//
//	resourceId                /subscriptions/{sub}/resourceGroups/{rg}/providers/{ns}/{type}/{name}[/{type}/{name}...]
//	  at subscription scope   /subscriptions/{sub}/providers/{ns}/{type}/{name}
//	  at management group or tenant scope  /providers/{ns}/{type}/{name}
//	subscriptionResourceId    /subscriptions/{sub}/providers/{ns}/{type}/{name}
//	  of Microsoft.Resources/resourceGroups  /subscriptions/{sub}/resourceGroups/{name}
//	tenantResourceId          /providers/{ns}/{type}/{name}
//	managementGroupResourceId /providers/Microsoft.Management/managementGroups/{mg}/providers/{ns}/{type}/{name}
//	extensionResourceId       {baseId}/providers/{ns}/{type}/{name}

const resourceIDHelp = "https://aka.ms/arm-resourceid-function"

func init() {
	fn("resource", "resourceId", 2, -1, fnResourceID)
	fn("resource", "subscriptionResourceId", 2, -1, fnSubscriptionResourceID)
	fn("resource", "tenantResourceId", 2, -1, fnTenantResourceID)
	fn("resource", "managementGroupResourceId", 2, -1, fnManagementGroupResourceID)
	fn("resource", "extensionResourceId", 3, -1, fnExtensionResourceID)
}

func stringArgs(name string, args []any) ([]string, error) {
	out := make([]string, len(args))
	for i, a := range args {
		s, err := argString(name, i, a)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// typeIndex finds the fully qualified resource type among the first
// maxPrefix+1 arguments: the first argument containing '/'.
func typeIndex(name string, args []string, maxPrefix int, scopeWords string) (int, error) {
	for i := 0; i < len(args) && i <= maxPrefix; i++ {
		if strings.Contains(args[i], "/") {
			return i, nil
		}
	}
	shown := args[0]
	return 0, fnError(name, "function requires fully qualified resource type as one of first %d arguments for resource at %s, provided value is '%s'. Please see %s for usage details.",
		maxPrefix+1, scopeWords, shown, resourceIDHelp)
}

// typeAndNames joins a resource type and its names into
// "{ns}/{type1}/{name1}/{type2}/{name2}", checking the counts match.
func typeAndNames(name, resourceType string, names []string) (string, error) {
	segs := strings.Split(strings.Trim(resourceType, "/"), "/")
	if len(segs) < 2 {
		return "", fnError(name, "the type '%s' is not a fully qualified resource type. Please see %s for usage details.", resourceType, resourceIDHelp)
	}
	var nameSegs []string
	for _, n := range names {
		nameSegs = append(nameSegs, strings.Split(n, "/")...)
	}
	if len(nameSegs) != len(segs)-1 {
		return "", fnError(name, "the type '%s' requires '%d' resource name argument(s). Please see %s for usage details.", resourceType, len(segs)-1, resourceIDHelp)
	}
	var b strings.Builder
	b.WriteString(segs[0])
	for i, s := range segs[1:] {
		b.WriteByte('/')
		b.WriteString(s)
		b.WriteByte('/')
		b.WriteString(nameSegs[i])
	}
	return b.String(), nil
}

// scopedResourceArgs splits the arguments of the *ResourceId functions
// whose leading scope arguments are optional: up to maxPrefix scope names,
// then the resource type and at least one name, returned joined as the
// "{ns}/{type}/{name}..." tail.
func scopedResourceArgs(name string, strs []string, maxPrefix int, scopeWords string) (prefix []string, tail string, err error) {
	t, err := typeIndex(name, strs, maxPrefix, scopeWords)
	if err != nil {
		return nil, "", err
	}
	if t == len(strs)-1 {
		return nil, "", fnError(name, "the type '%s' requires at least one resource name argument. Please see %s for usage details.", strs[t], resourceIDHelp)
	}
	if tail, err = typeAndNames(name, strs[t], strs[t+1:]); err != nil {
		return nil, "", err
	}
	return strs[:t], tail, nil
}

// fnResourceID is resourceId([subscriptionId], [resourceGroupName],
// resourceType, resourceName1, [resourceName2], ...).
func fnResourceID(ev *evaluator, name string, args []any) (any, error) {
	strs, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	prefix, tail, err := scopedResourceArgs(name, strs, 2, "resource group scope")
	if err != nil {
		return nil, err
	}
	t := len(prefix)
	scope := ev.host.Scope()
	sub, rg := scope.SubscriptionID, scope.ResourceGroup
	switch t {
	case 2:
		sub, rg = prefix[0], prefix[1]
	case 1:
		rg = prefix[0]
	}
	switch {
	case sub != "" && rg != "":
		return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/" + tail, nil
	case sub != "" && t == 0:
		return subscriptionChildID(sub, tail), nil
	case t == 0:
		return "/providers/" + tail, nil
	}
	return nil, fnError(name, "a resource group name was given but the deployment has no subscription to place it in; give the subscription ID as the first argument. Please see %s for usage details.", resourceIDHelp)
}

// fnSubscriptionResourceID is subscriptionResourceId([subscriptionId],
// resourceType, resourceName1, ...).
func fnSubscriptionResourceID(ev *evaluator, name string, args []any) (any, error) {
	strs, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	prefix, tail, err := scopedResourceArgs(name, strs, 1, "subscription scope")
	if err != nil {
		return nil, err
	}
	sub := ev.host.Scope().SubscriptionID
	if len(prefix) == 1 {
		sub = prefix[0]
	}
	if sub == "" {
		return nil, fnError(name, "the deployment is not at subscription or resource group scope; give the subscription ID as the first argument. Please see %s for usage details.", resourceIDHelp)
	}
	return subscriptionChildID(sub, tail), nil
}

// subscriptionChildID renders the ID of a resource under a subscription.
// A resource group is the one type ARM writes without its provider
// ("/subscriptions/{s}/resourceGroups/{g}", not ".../providers/
// Microsoft.Resources/resourceGroups/{g}"): subscriptionResourceId() of a
// group must equal the group's own ID, or dependsOn on a group created by
// the same template would name nothing.
func subscriptionChildID(sub, tail string) string {
	const rgType = "microsoft.resources/resourcegroups/"
	if len(tail) > len(rgType) && strings.EqualFold(tail[:len(rgType)], rgType) {
		return "/subscriptions/" + sub + "/resourceGroups/" + tail[len(rgType):]
	}
	return "/subscriptions/" + sub + "/providers/" + tail
}

// fnTenantResourceID is tenantResourceId(resourceType, resourceName1, ...).
func fnTenantResourceID(ev *evaluator, name string, args []any) (any, error) {
	strs, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	if _, err := typeIndex(name, strs, 0, "tenant scope"); err != nil {
		return nil, err
	}
	tail, err := typeAndNames(name, strs[0], strs[1:])
	if err != nil {
		return nil, err
	}
	return "/providers/" + tail, nil
}

// fnManagementGroupResourceID is managementGroupResourceId(
// [managementGroupResourceId], resourceType, resourceName1, ...). The
// optional first argument is the management group's name (its ID segment).
func fnManagementGroupResourceID(ev *evaluator, name string, args []any) (any, error) {
	strs, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	prefix, tail, err := scopedResourceArgs(name, strs, 1, "management group scope")
	if err != nil {
		return nil, err
	}
	mg := ev.host.Scope().ManagementGroup
	if len(prefix) == 1 {
		mg = prefix[0]
	}
	if mg == "" {
		return nil, fnError(name, "the deployment is not at management group scope; give the management group name as the first argument. Please see %s for usage details.", resourceIDHelp)
	}
	return "/providers/Microsoft.Management/managementGroups/" + mg + "/providers/" + tail, nil
}

// fnExtensionResourceID is extensionResourceId(baseResourceId, resourceType,
// resourceName1, ...).
func fnExtensionResourceID(ev *evaluator, name string, args []any) (any, error) {
	strs, err := stringArgs(name, args)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(strs[0], "/")
	if !strings.HasPrefix(base, "/") {
		return nil, fnError(name, "the base resource ID '%s' must start with '/'. Please see %s for usage details.", strs[0], resourceIDHelp)
	}
	tail, err := typeAndNames(name, strs[1], strs[2:])
	if err != nil {
		return nil, err
	}
	return base + "/providers/" + tail, nil
}
