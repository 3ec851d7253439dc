package expr

import "testing"

// Expression evaluation cost per call, for docs/performance.md. Parsing is
// measured separately: the template layer parses each template string once
// and evaluates it once per copy-loop iteration.

func benchEval(b *testing.B, text string) {
	e := MustParse(text)
	ctx := testContext()
	if _, err := e.Eval(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Eval(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEvalRoleAssignmentName(b *testing.B) {
	benchEval(b, "[guid(resourceGroup().id, parameters('n'), 'role')]")
}

func BenchmarkEvalFormat(b *testing.B) {
	benchEval(b, "[format('{0}-{1:D3}-{2}', parameters('name'), copyIndex(), uniqueString(resourceGroup().id))]")
}

func BenchmarkEvalConcat(b *testing.B) {
	benchEval(b, "[concat(variables('prefix'), '-', parameters('name'), '-', string(copyIndex(1)))]")
}

func BenchmarkEvalResourceID(b *testing.B) {
	benchEval(b, "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('id-{0}', copyIndex()))]")
}

func BenchmarkEvalLambda(b *testing.B) {
	benchEval(b, "[map(filter(parameters('dogs'), lambda('d', greater(lambdaVariables('d').age, 2))), lambda('d', toUpper(lambdaVariables('d').name)))]")
}

func BenchmarkParse(b *testing.B) {
	text := "[guid(resourceGroup().id, parameters('n'), 'role')]"
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}
