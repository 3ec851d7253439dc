package bicep

import (
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"
)

// FuzzParse: the lexer, parser and the whole compiler never panic and
// finish quickly on any input.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/golden/*.bicep")
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(string(data))
		}
	}
	for _, s := range []string{
		"", "'", "'${", "'${'${'${", "{", "[for", "param a string = '''", "/*", "a.b.c[0]!.?d", "x => y => z",
		"resource r 'a/b@1' = [for (x, i) in y: if (x) {\n name: x\n}]",
		"var a = {\n  b: [\n    1, 2\n  ]\n  ...c\n}", "type t = { *: string, a: 'x' | 'y'?, b: t[] }",
		"func f(a string) string => '${a}'\noutput o string = f('x')",
		"var v = {\n  @batchSize(1)\n  resource c 'd' = {\n    name: 'c'\n  }\n  resource: 1\n}",
		"resource r 'a/b@1' = [for x in y: {\n  name: x\n  resource c 'd' = if (x) {\n    name: 'c'\n  }\n}]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		file, _ := Parse("main.bicep", []byte(src))
		if file == nil {
			t.Fatal("nil file")
		}
		fsys := fstest.MapFS{"main.bicep": {Data: []byte(src)}, "mod.bicep": {Data: []byte(src)}}
		if _, err := Compile(fsys, "main.bicep", Options{}); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 2*time.Second && len(src) < 10000 {
			t.Fatalf("took %v for %d bytes", d, len(src))
		}
	})
}
