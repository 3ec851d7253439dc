package expr

import "testing"

// uniqueString vectors. Each is a value Azure (or Microsoft's own
// Azure.Deployments.Expression library) produced, from public sources:
//
//   - microsoft/commercial-marketplace-offer-deploy, test/Tests/UnitTests/ArmFunctionsTests.cs
//     (namespace Modm.Tests.UnitTests): a test asserting the output of
//     Microsoft's ARM engine, Azure.Deployments.Expression
//     ExpressionBuiltInFunctions, for a resource ID ("valueFromArmTemplate").
//     An earlier copy of that test (test/Tests/ArmFunctionsTests.cs) had
//     "yeygmhukyx3qg"; the moved, later copy has the value below, which
//     this implementation reproduces.
//   - Azure/terraform-provider-azapi, internal/services/functions/unique_string_function_test.go
//     (Microsoft's provider function, documented as matching ARM's uniqueString).
//   - a public bash port (uniquestring.sh, "verified against Bicep
//     uniqueString() output") for the short inputs.
func TestUniqueString(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"arm deployment output (commercial-marketplace-offer-deploy)", []string{"/subscriptions/31e9f9a0-9fd2-4294-a0a3-0101246d9700/resourceGroups/rg-modm201-20230913120256/providers/Microsoft.Compute/virtualMachines/bobjacmodm201"}, "yvjxno3je5on2"},
		{"azapi provider test", []string{"/subscriptions/00000000-0000-0000-0000-000000000000", "resource-id"}, "cwvxuqg24sifi"},
		{"uniquestring.sh test", []string{"test"}, "rbgf3xv4ufgzg"},
		{"uniquestring.sh hello world", []string{"hello", "world"}, "a7wkljktk6wne"},
		{"uniquestring.sh abc", []string{"abc"}, "cgtzqvhu4i23s"},
		{"uniquestring.sh resource group id", []string{"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"}, "bmg7c6xu4tw46"},
		{"uniquestring.sh three parts", []string{"foo", "bar", "baz"}, "xzi4ioaxtmth4"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UniqueString(tc.parts...); got != tc.want {
				t.Errorf("UniqueString(%q) = %q, want %q", tc.parts, got, tc.want)
			}
		})
	}
}

// guid vectors. No public source shows guid() output evaluated by Azure;
// the algorithm (RFC 4122 version 5 UUID over the '-'-joined arguments in
// namespace 11fb06fb-712d-4ddd-98c7-e71bbd588830) is documented by the
// Azure docs remark (RFC 4122 §4.3, GuidUtility) and by ports that cite
// Azure.Deployments.Expression's FunctionHelpers.ARMNamespaceGuid (for
// example EmmittJ.Aspire.Hosting.Pulumi.Azure ArmFunctions.cs, and
// Terraform configurations that compute "Bicep's guid(...)" with
// uuidv5("11fb06fb-...", join("-", ...))). The expected values were
// computed with Python's uuid.uuid5, an independent RFC 4122
// implementation.
func TestGUID(t *testing.T) {
	tests := []struct {
		name  string
		parts []string
		want  string
	}{
		{"one part", []string{"abc"}, "a9b46cc2-65a6-5559-9f14-7091827ab32f"},
		{"parts are joined with hyphens", []string{"a", "b", "c"}, "a98fa280-e03f-5afa-8d8e-92d0a9c201e8"},
		{"joined equals pre-joined", []string{"a-b-c"}, "a98fa280-e03f-5afa-8d8e-92d0a9c201e8"},
		{"resource group id", []string{"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"}, "bb733f78-f75f-5345-b2b1-ca384ca6fcab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := GUID(tc.parts...); got != tc.want {
				t.Errorf("GUID(%q) = %q, want %q", tc.parts, got, tc.want)
			}
		})
	}
}
