package bicep

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden.json from the compiler's output")

// TestGolden compiles every testdata/golden/*.bicep (modules live in
// subdirectories) and compares the template with its reviewed
// .golden.json; every "[...]" string must parse as an ARM expression.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.bicep")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	fsys := os.DirFS("testdata/golden")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".bicep")
		t.Run(name, func(t *testing.T) {
			res, err := Compile(fsys, name+".bicep", Options{ModuleCache: os.DirFS("testdata/golden/cache")})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range res.Diagnostics {
				if d.Severity == SeverityError {
					t.Errorf("unexpected diagnostic: %s", d)
				}
			}
			if res.Template == nil {
				t.Fatal("no template")
			}
			checkExpressions(t, res.Template)
			golden := strings.TrimSuffix(file, ".bicep") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, append(res.Template, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := string(res.Template) + "\n"; got != string(want) {
				t.Errorf("template differs from %s (run go test -update and review the diff):\n%s", golden, got)
			}
		})
	}
}

// checkExpressions parses every template expression with the deployment
// engine's expression parser.
func checkExpressions(t *testing.T, template []byte) {
	t.Helper()
	var v any
	if err := json.Unmarshal(template, &v); err != nil {
		t.Fatalf("template is not JSON: %v", err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				check(t, k)
				walk(val)
			}
		case []any:
			for _, it := range x {
				walk(it)
			}
		case string:
			check(t, x)
		}
	}
	walk(v)
}

func check(t *testing.T, s string) {
	t.Helper()
	if !expr.IsExpression(s) {
		return
	}
	if _, err := expr.Parse(s); err != nil {
		t.Errorf("expression %q does not parse: %v", s, err)
	}
}
