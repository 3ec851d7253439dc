package bicep

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

// largeFile generates a realistic Bicep file of about n lines: identities,
// role assignments on them, loops, variables and outputs.
func largeFile(n int) string {
	var b strings.Builder
	b.WriteString("@description('Location for all resources.')\nparam location string = resourceGroup().location\nparam prefix string = 'app'\n\n")
	for i := 0; b.Len() == 0 || strings.Count(b.String(), "\n") < n; i++ {
		fmt.Fprintf(&b, `var names%[1]d = [for j in range(0, 3): '${prefix}-%[1]d-${j}']

@description('Identity %[1]d')
resource uami%[1]d 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${prefix}-id-%[1]d'
  location: location
  tags: {
    index: '%[1]d'
    owner: toUpper(prefix)
  }
}

resource role%[1]d 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(resourceGroup().id, uami%[1]d.id, 'reader')
  scope: uami%[1]d
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'acdd72a7-3385-48ef-bd42-f606fba81ae7')
    principalId: uami%[1]d.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

output principal%[1]d string = uami%[1]d.properties.principalId
output names%[1]d array = names%[1]d

`, i)
	}
	return b.String()
}

// BenchmarkCompile5000Lines: compiling a 5,000-line file must take well
// under 100 ms.
func BenchmarkCompile5000Lines(b *testing.B) {
	src := largeFile(5000)
	fsys := fstest.MapFS{"main.bicep": {Data: []byte(src)}}
	b.SetBytes(int64(len(src)))
	b.ResetTimer()
	for b.Loop() {
		res, err := Compile(fsys, "main.bicep", Options{})
		if err != nil || res.Template == nil {
			b.Fatalf("compile failed: %v %v", err, res.Diagnostics)
		}
	}
}

func TestLargeFileCompiles(t *testing.T) {
	src := largeFile(5000)
	res, err := Compile(fstest.MapFS{"main.bicep": {Data: []byte(src)}}, "main.bicep", Options{})
	if err != nil || res.Template == nil || ErrorCount(res.Diagnostics) > 0 {
		t.Fatalf("compile failed: %v %v", err, res.Diagnostics[:min(3, len(res.Diagnostics))])
	}
}
