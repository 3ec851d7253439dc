package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/jmespath/go-jmespath"
	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// ExitError carries a process exit code through cobra.
type ExitError struct {
	Code int
	Err  error
}

func (e ExitError) Error() string { return e.Err.Error() }
func (e ExitError) Unwrap() error { return e.Err }

// Output formats, as az names them.
var outputFormats = []string{"json", "jsonc", "table", "tsv", "yaml", "yamlc", "none"}

// addOutputFlags adds -o and --query to a command tree.
func addOutputFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringP("output", "o", "json", "output format: "+strings.Join(outputFormats, ", "))
	cmd.PersistentFlags().String("query", "", "JMESPath query applied to the result before printing")
}

// Print writes v in the format the command's flags ask for. v is anything
// that marshals to JSON (SDK models marshal in the REST shape, as az prints).
func Print(cmd *cobra.Command, v any) error {
	format, _ := cmd.Flags().GetString("output")
	query, _ := cmd.Flags().GetString("query")
	return Render(cmd.OutOrStdout(), v, format, query)
}

// Render is Print without a command (tests and golden files).
func Render(w io.Writer, v any, format, query string) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	doc, err := decodeOrdered(raw)
	if err != nil {
		return err
	}
	if query != "" {
		var plain any
		if err := json.Unmarshal(raw, &plain); err != nil {
			return err
		}
		res, err := jmespath.Search(query, plain)
		if err != nil {
			return fmt.Errorf("--query: %w", err)
		}
		// The query result loses key order; rebuild order from the
		// query's own projection by re-marshalling (map keys sort).
		b, _ := json.Marshal(res)
		if doc, err = decodeOrdered(b); err != nil {
			return err
		}
	}
	switch strings.ToLower(format) {
	case "json", "jsonc":
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml", "yamlc":
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		if err := enc.Encode(toYAML(doc)); err != nil {
			return err
		}
		return enc.Close()
	case "table":
		return writeTable(w, doc)
	case "tsv":
		return writeTSV(w, doc)
	case "none":
		return nil
	}
	return fmt.Errorf("--output must be one of %s, not %q", strings.Join(outputFormats, ", "), format)
}

// orderedObject keeps the key order of a JSON object, so table and tsv
// columns follow the order of the REST shape as az's do.
type orderedObject struct {
	keys   []string
	values map[string]any
}

func (o *orderedObject) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		buf.Write(kb)
		buf.WriteByte(':')
		vb, err := json.Marshal(o.values[k])
		if err != nil {
			return nil, err
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func decodeOrdered(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return decodeValue(dec)
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &orderedObject{values: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				if _, dup := o.values[k]; !dup {
					o.keys = append(o.keys, k)
				}
				o.values[k] = v
			}
			_, err := dec.Token()
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return t, nil
	}
}

func toYAML(v any) any {
	switch t := v.(type) {
	case *orderedObject:
		n := &yaml.Node{Kind: yaml.MappingNode}
		for _, k := range t.keys {
			var val yaml.Node
			_ = val.Encode(toYAML(t.values[k]))
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, &val)
		}
		return n
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = toYAML(e)
		}
		return out
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// rows turns a result into table rows of scalar columns, as az's default
// table transformer does: nested objects and arrays are left out.
func rows(doc any) (cols []string, data [][]string) {
	var items []any
	switch t := doc.(type) {
	case []any:
		items = t
	default:
		items = []any{t}
	}
	seen := map[string]bool{}
	for _, it := range items {
		switch o := it.(type) {
		case *orderedObject:
			for _, k := range o.keys {
				if v := o.values[k]; v != nil && isScalar(v) && !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		case []any:
			// A multiselect list ("[].[name,id]") is a row of
			// positional columns, as az prints it.
			for i := len(cols); i < len(o); i++ {
				cols = append(cols, fmt.Sprintf("Column%d", i+1))
			}
		}
	}
	for _, it := range items {
		switch o := it.(type) {
		case *orderedObject:
			row := make([]string, len(cols))
			for i, c := range cols {
				if v, ok := o.values[c]; ok && isScalar(v) {
					row[i] = scalarString(v)
				}
			}
			data = append(data, row)
		case []any:
			row := make([]string, len(o))
			for i, v := range o {
				if isScalar(v) {
					row[i] = scalarString(v)
				}
			}
			data = append(data, row)
		default:
			data = append(data, []string{scalarString(it)})
		}
	}
	return cols, data
}

func isScalar(v any) bool {
	switch v.(type) {
	case *orderedObject, []any:
		return false
	}
	return true
}

func scalarString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		if t {
			return "True"
		}
		return "False"
	case json.Number:
		return t.String()
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func writeTable(w io.Writer, doc any) error {
	cols, data := rows(doc)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(cols) > 0 {
		heads := make([]string, len(cols))
		rules := make([]string, len(cols))
		for i, c := range cols {
			heads[i] = header(c)
			// az's rule lines are as wide as the column.
			width := len([]rune(heads[i]))
			for _, r := range data {
				if i < len(r) {
					width = max(width, len([]rune(r[i])))
				}
			}
			rules[i] = strings.Repeat("-", max(width, 1))
		}
		fmt.Fprintln(tw, strings.Join(heads, "\t"))
		fmt.Fprintln(tw, strings.Join(rules, "\t"))
	}
	for _, r := range data {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// header writes a column name as az does: "resourceGroup" -> "ResourceGroup".
func header(k string) string {
	if k == "" {
		return k
	}
	r := []rune(k)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

func writeTSV(w io.Writer, doc any) error {
	_, data := rows(doc)
	for _, r := range data {
		if _, err := fmt.Fprintln(w, strings.Join(r, "\t")); err != nil {
			return err
		}
	}
	return nil
}
