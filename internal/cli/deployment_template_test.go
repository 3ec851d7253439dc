package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const paramsTemplate = `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "definitions": {
    "sizes": {"type": "array"},
    "alias": {"$ref": "#/definitions/sizes"},
    "loop": {"$ref": "#/definitions/loop"}
  },
  "parameters": {
    "name": {"type": "string"},
    "Count": {"type": "int"},
    "enabled": {"type": "bool"},
    "tags": {"type": "object"},
    "zones": {"type": "array"},
    "secret": {"type": "securestring"},
    "settings": {"type": "secureObject"},
    "sizes": {"$ref": "#/definitions/alias"},
    "weird": {"$ref": "#/definitions/loop"}
  },
  "resources": []
}`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestParseParameters(t *testing.T) {
	dir := t.TempDir()
	tpl, err := parseTemplate("main.json", []byte(paramsTemplate))
	if err != nil {
		t.Fatal(err)
	}
	paramsFile := writeFile(t, dir, "main.parameters.json", `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",
  "contentVersion": "1.0.0.0",
  // comments are allowed, as in templates
  "parameters": {"name": {"value": "from-file"}, "count": {"value": 1}}
}`)
	plainFile := writeFile(t, dir, "plain.json", `{"name": {"value": "plain"}}`)
	tagsFile := writeFile(t, dir, "tags.json", `{"env": "prod"}`)
	value := func(v any) map[string]any { return map[string]any{"value": v} }
	tests := []struct {
		name  string
		words []string
		want  map[string]any
		err   string
	}{
		{"a deploymentParameters file gives its parameters member", []string{"@" + paramsFile},
			map[string]any{"name": value("from-file"), "count": value(json.Number("1"))}, ""},
		{"a plain object file is the parameters", []string{"@" + plainFile}, map[string]any{"name": value("plain")}, ""},
		{"an existing file's path works without @, as in az", []string{plainFile}, map[string]any{"name": value("plain")}, ""},
		{"inline JSON", []string{`{"name": {"value": "inline"}}`}, map[string]any{"name": value("inline")}, ""},
		{"inline JSON with a parameters member", []string{`{"parameters": {"name": {"value": "x"}}}`}, map[string]any{"name": value("x")}, ""},
		{"a string stays a string, = in the value included", []string{"name=a=b"}, map[string]any{"name": value("a=b")}, ""},
		{"an int is a number, the template's spelling of the name is used", []string{"count=3"}, map[string]any{"Count": value(int64(3))}, ""},
		{"a bool is a bool", []string{"enabled=True"}, map[string]any{"enabled": value(true)}, ""},
		{"an object is JSON", []string{`tags={"env":"prod"}`}, map[string]any{"tags": value(map[string]any{"env": "prod"})}, ""},
		{"an object may come from a file", []string{"tags=@" + tagsFile}, map[string]any{"tags": value(map[string]any{"env": "prod"})}, ""},
		{"an array is JSON", []string{`zones=["1","2"]`}, map[string]any{"zones": value([]any{"1", "2"})}, ""},
		{"a secureObject is JSON", []string{`settings={"k":1}`}, map[string]any{"settings": value(map[string]any{"k": json.Number("1")})}, ""},
		{"a securestring is a string", []string{"secret=123"}, map[string]any{"secret": value("123")}, ""},
		{"a user-defined type is followed to its type", []string{`sizes=[1,2]`}, map[string]any{"sizes": value([]any{json.Number("1"), json.Number("2")})}, ""},
		{"a $ref cycle is a string", []string{"weird=[1]"}, map[string]any{"weird": value("[1]")}, ""},
		{"a later word wins, names compare case-insensitively", []string{"@" + paramsFile, "COUNT=7", "name=cli"},
			map[string]any{"name": value("cli"), "Count": value(int64(7))}, ""},
		{"several words in one -p", []string{"name=a", "enabled=false"}, map[string]any{"name": value("a"), "enabled": value(false)}, ""},
		{"an unknown key is refused with the declared names", []string{"nope=1"}, nil,
			"--parameters: unrecognized template parameter 'nope'. Allowed parameters: Count, enabled, name, secret, settings, sizes, tags, weird, zones"},
		{"a bad int is refused", []string{"count=three"}, nil, `--parameters count=three: 'Count' is an int parameter; "three" is not an integer`},
		{"a bad bool is refused", []string{"enabled=yes"}, nil, "--parameters enabled=yes: 'enabled' is a bool parameter; give true or false"},
		{"an object must be an object", []string{"tags=[1]"}, nil, "--parameters tags: 'tags' is an object parameter; give a JSON object"},
		{"an array must be an array", []string{"zones={}"}, nil, "--parameters zones: 'zones' is an array parameter; give a JSON array"},
		{"bad JSON says where", []string{`tags={"a":}`}, nil, "--parameters tags: 'tags' is an object parameter; its value must be JSON: invalid character '}' looking for beginning of value (line 1, column 6)"},
		{"a word that is none of the forms is refused", []string{"justaword"}, nil, `--parameters: cannot read "justaword": give @file.json, a JSON object, or key=value`},
		{"a missing file is refused", []string{"@" + filepath.Join(dir, "none.json")}, nil, "--parameters: open "},
		{"inline JSON must be an object", []string{"{]"}, nil, "--parameters is not JSON: "},
		{"a parameters file must be an object", []string{"@" + writeFile(t, dir, "list.json", `[1]`)}, nil, "must be a JSON object"},
		{"a .bicepparam file is compiled", []string{"@" + writeFile(t, dir, "main.bicepparam", "using none\nparam name = 'from-bicepparam'\n")},
			map[string]any{"name": value("from-bicepparam")}, ""},
		{"a .bicepparam error stops it", []string{writeFile(t, dir, "bad.bicepparam", "param name = \n")}, nil, "error(s)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseParameters(tc.words, tpl)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if obj := got.object(); !reflect.DeepEqual(obj, tc.want) {
				t.Errorf("parameters\n got %#v\nwant %#v", obj, tc.want)
			}
		})
	}
}

func TestLoadTemplate(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file, content, err string
	}{
		{"JSON with comments", "main.json", "{\n  // a comment\n  \"resources\": [] /* and\n another */\n}", ""},
		{"a byte order mark is dropped", "bom.json", "\xef\xbb\xbf{\"resources\": []}", ""},
		{"not JSON says where", "bad.json", "{\n  \"resources\": [,]\n}", "--template-file " + filepath.Join(dir, "bad.json") + " is not a JSON template: invalid character ',' looking for beginning of value (line 2, column 17)"},
		{"not an object", "list.json", "[]", "is not a JSON template"},
		{"Bicep is compiled", "main.bicep", "param x string\noutput y string = x\n", ""},
		{"a Bicep error stops it", "broken.bicep", "param x strin\n", "1 error(s)"},
		{"a .bicepparam is not a template", "main.bicepparam", "using 'x'", "is a parameters file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, dir, tc.file, tc.content)
			tpl, err := loadTemplate(path, io.Discard)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(tpl.text) {
				t.Errorf("the text to send is not JSON: %q", tpl.text)
			}
			if !strings.HasSuffix(tc.file, ".bicep") && bytes.Count(tpl.text, []byte("\n")) != strings.Count(tc.content, "\n") {
				t.Errorf("lines moved: %q", tpl.text)
			}
		})
	}
	if _, err := loadTemplate("", io.Discard); err == nil || err.Error() != "give the template with --template-file (-f)" {
		t.Errorf("no file: %v", err)
	}
}

func TestBlankJSONComments(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": "//not a comment", "b": "/* nor this */"}`, `{"a": "//not a comment", "b": "/* nor this */"}`},
		{"{\"a\": 1 // gone\n}", "{\"a\": 1        \n}"},
		{"{/* x\ny */\"a\": 1}", "{    \n    \"a\": 1}"},
		{`{"a": "quote \" // still string"}`, `{"a": "quote \" // still string"}`},
		{"{\"a\": 1 /* unterminated", "{\"a\": 1" + strings.Repeat(" ", 16)},
		{"// only\r\n{}", "       \r\n{}"},
	}
	for _, tc := range tests {
		if got := string(blankJSONComments([]byte(tc.in))); got != tc.want {
			t.Errorf("blankJSONComments(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

func TestDefaultDeploymentName(t *testing.T) {
	for in, want := range map[string]string{
		"azuredeploy.json": "azuredeploy", "/x/y/main.bicep": "main", "./templates/app.v2.json": "app.v2", "noext": "noext",
	} {
		if got := defaultDeploymentName(in); got != want {
			t.Errorf("defaultDeploymentName(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzBlankJSONComments: whatever the input, blanking keeps the length
// and every line break where it was, and leaves JSON without comments as
// it was.
func FuzzBlankJSONComments(f *testing.F) {
	for _, s := range []string{`{"a": 1}`, "{// c\n}", "{/* c */}", `"\"//"`, "/*", "//", `{"a":"\\"}/**/`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := blankJSONComments([]byte(in))
		if len(out) != len(in) {
			t.Fatalf("length %d, want %d", len(out), len(in))
		}
		for i := range len(in) {
			if (in[i] == '\n') != (out[i] == '\n') {
				t.Fatalf("line break moved at %d", i)
			}
		}
		if json.Valid([]byte(in)) && !strings.Contains(in, "/") && string(out) != in {
			t.Fatalf("changed comment-free JSON %q to %q", in, out)
		}
	})
}

// FuzzParseParameters: any -p word either parses or is refused with an
// error; it never panics.
func FuzzParseParameters(f *testing.F) {
	tpl, err := parseTemplate("main.json", []byte(paramsTemplate))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"count=3", `tags={"a":1}`, `{"name":{"value":"x"}}`, "zones=[", "enabled=TRUE", "=", "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, word string) {
		if strings.HasPrefix(word, "@") || isRegularFile(word) || strings.Contains(word, "=@") {
			t.Skip("reads files")
		}
		params, err := parseParameters([]string{word}, tpl)
		if err == nil {
			if _, err := json.Marshal(params.object()); err != nil {
				t.Fatalf("parameters do not encode: %v", err)
			}
		}
	})
}
