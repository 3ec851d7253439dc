package cli

import (
	"bytes"
	"strings"
	"testing"
)

// renderInput is a small fixed result: two objects with scalars of every
// JSON kind, a nested object and an array (left out of table and tsv, as
// az's default table transformer does).
// Absent members are left out, as the SDK models' marshalling does.
type renderItem struct {
	Name     string            `json:"name"`
	Location string            `json:"location"`
	Count    int               `json:"count"`
	Enabled  bool              `json:"enabled"`
	Note     string            `json:"note,omitempty"`
	Tags     map[string]string `json:"tags,omitempty"`
	Zones    []string          `json:"zones,omitempty"`
}

func renderInput() []renderItem {
	return []renderItem{
		{Name: "rg-a", Location: "westus", Count: 2, Enabled: true, Note: "first", Tags: map[string]string{"env": "prod"}, Zones: []string{"1"}},
		{Name: "rg-b", Location: "eastus", Count: 10, Enabled: false},
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		v      any
		format string
		query  string
		want   string
	}{
		{
			name: "json keeps the REST key order and indents by two", v: renderInput()[1], format: "json",
			want: `{
  "name": "rg-b",
  "location": "eastus",
  "count": 10,
  "enabled": false
}
`,
		},
		{
			name: "jsonc prints the same document as json", v: map[string]int{"b": 1, "a": 2}, format: "jsonc",
			want: "{\n  \"a\": 2,\n  \"b\": 1\n}\n",
		},
		{
			name: "format names are case-insensitive", v: []int{1}, format: "JSON",
			want: "[\n  1\n]\n",
		},
		{
			name: "table shows scalar columns in key order with az headers", v: renderInput(), format: "table",
			want: `Name  Location  Count  Enabled  Note
----  --------  -----  -------  -----
rg-a  westus    2      True     first
rg-b  eastus    10     False    ` + `
`,
		},
		{
			name: "table of one object is one row", v: renderInput()[0], format: "table",
			want: "Name  Location  Count  Enabled  Note\n----  --------  -----  -------  -----\nrg-a  westus    2      True     first\n",
		},
		{
			name: "table of scalars has no header", v: []string{"x", "yy"}, format: "table",
			want: "x\nyy\n",
		},
		{
			name: "table of an empty list prints nothing", v: []renderItem{}, format: "table",
			want: "",
		},
		{
			name: "tsv is the table's cells without header, tab separated", v: renderInput(), format: "tsv",
			want: "rg-a\twestus\t2\tTrue\tfirst\nrg-b\teastus\t10\tFalse\t\n",
		},
		{
			name: "tsv of a scalar is the bare value", v: "00000000-0000-0000-0000-000000000001", format: "tsv",
			want: "00000000-0000-0000-0000-000000000001\n",
		},
		{
			name: "yaml keeps key order and nests", v: renderInput()[0], format: "yaml",
			want: `name: rg-a
location: westus
count: 2
enabled: true
note: first
tags:
  env: prod
zones:
  - "1"
`,
		},
		{
			name: "yamlc prints the same document as yaml", v: map[string]bool{"ok": true}, format: "yamlc",
			want: "ok: true\n",
		},
		{
			name: "none prints nothing", v: renderInput(), format: "none",
			want: "",
		},
		{
			name: "query projects before printing", v: renderInput(), format: "json", query: "[].name",
			want: "[\n  \"rg-a\",\n  \"rg-b\"\n]\n",
		},
		{
			name: "query result of a multiselect hash prints with sorted keys", v: renderInput(), format: "table",
			query: "[?enabled].{where:location, name:name}",
			want:  "Name  Where\n----  ------\nrg-a  westus\n",
		},
		{
			name: "query picking one scalar with tsv is the bare value", v: renderInput(), format: "tsv", query: "[0].tags.env",
			want: "prod\n",
		},
		{
			name: "query with no match prints null as json", v: renderInput(), format: "json", query: "[0].missing",
			want: "null\n",
		},
		{
			name: "query with no match prints an empty line as tsv", v: renderInput(), format: "tsv", query: "[0].missing",
			want: "\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tc.v, tc.format, tc.query); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", show(got), show(tc.want))
			}
		})
	}
}

// show makes trailing spaces and tabs visible in a failure message.
func show(s string) string {
	return strings.NewReplacer("\t", "<TAB>", " \n", "<SP>\n").Replace(s)
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name, format, query, want string
	}{
		{name: "unknown format names the accepted ones", format: "xml", want: `--output must be one of json, jsonc, table, tsv, yaml, yamlc, none, not "xml"`},
		{name: "bad JMESPath is a --query error", format: "json", query: "[?name==", want: "--query: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Render(&buf, renderInput(), tc.format, tc.query)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want prefix %q", err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("printed %q before failing", buf.String())
			}
		})
	}
}

// The two tests below pin az (knack) parity of table and tsv output.

// TestRenderAzParityRows: az leaves null members out of tables, never prints
// an object or array in a cell, and prints each inner list of a list of
// lists (`--query "[].[name, id]" -o tsv`, a common script idiom) as one row.
func TestRenderAzParityRows(t *testing.T) {
	testRenderCases(t, []renderCase{
		{
			name: "null members make no column and objects no cell", format: "table",
			v:    []map[string]any{{"name": "a", "tags": map[string]any{"env": "prod"}}, {"name": "bb", "tags": nil}},
			want: "Name\n----\na\nbb\n",
		},
		{
			name: "a list of lists is one tsv row each", format: "tsv",
			v:    [][]any{{"web1", "Microsoft.Web/sites"}, {"vm1", nil}},
			want: "web1\tMicrosoft.Web/sites\nvm1\t\n",
		},
		{
			name: "a list of lists is a table of Column1..N", format: "table",
			v:    [][]any{{"web1", 2}},
			want: "Column1  Column2\n-------  -------\nweb1     2\n",
		},
	})
}

// TestRenderAzParityRuleWidth: az's rule lines are as wide as the column.
func TestRenderAzParityRuleWidth(t *testing.T) {
	testRenderCases(t, []renderCase{
		{
			name: "rule lines are as wide as the column", format: "table",
			v:    []map[string]string{{"name": "rg-longer"}},
			want: "Name\n---------\nrg-longer\n",
		},
	})
}

type renderCase struct {
	name   string
	v      any
	format string
	want   string
}

func testRenderCases(t *testing.T, tests []renderCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Render(&buf, tc.v, tc.format, ""); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", show(got), show(tc.want))
			}
		})
	}
}
