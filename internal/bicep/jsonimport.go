package bicep

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// loadTemplateImport makes an ARM JSON template importable: `import {x}
// from 'lib.json'` and `import * as lib from 'lib.json'` read the
// template's exported definitions, variables and functions (the ones a
// Bicep compilation marked with __bicep_export! or listed in
// __bicep_exported_variables!). The template is decompiled to Bicep and
// bound like a .bicep file, so the imported symbols compile — and are
// renamed and emitted — exactly as symbols imported from Bicep are.
func (c *compiler) loadTemplateImport(m *model, ref string, at Pos) *model {
	if strings.Contains(ref, "\\") || path.IsAbs(ref) || strings.Contains(ref, "://") {
		m.errorf(at, "BCP085", "The specified file path %q must be relative to the referencing file.", ref)
		return nil
	}
	file := path.Join(path.Dir(m.path), ref)
	if file == ".." || strings.HasPrefix(file, "../") {
		m.errorf(at, "BCP091", "An error occurred reading file. The path %q leaves the compiled directory.", ref)
		return nil
	}
	if cached, ok := c.models[file]; ok {
		return cached
	}
	data, err := fs.ReadFile(c.fsys, file)
	if err != nil {
		m.errorf(at, "BCP091", "An error occurred reading file. Could not find file %q.", file)
		return nil
	}
	v, err := decodeARM(data)
	if err != nil {
		m.errorf(at, "BCP188", "The referenced ARM template has errors: %v.", err)
		return nil
	}
	src, _, err := Decompile(data)
	if err != nil {
		m.errorf(at, "BCP188", "The referenced ARM template has errors: %v.", err)
		return nil
	}
	text := exportVariables(string(src), exportedVariableNames(v))
	return c.loadSource(file, text)
}

// exportedVariableNames are the names a template's metadata lists in
// __bicep_exported_variables!.
func exportedVariableNames(v any) []string {
	t, _ := v.(*jObject)
	md, ok := objVal(t, "metadata")
	if !ok {
		return nil
	}
	list, _ := getFold(md, "__bicep_exported_variables!")
	arr, _ := list.([]any)
	var names []string
	for _, e := range arr {
		if o, ok := e.(*jObject); ok {
			if n, ok := getFold(o, "name"); ok {
				if s, ok := n.(string); ok {
					names = append(names, s)
				}
			}
		}
	}
	return names
}

// exportVariables adds @export() to the decompiled declarations of the
// exported variables (the decompiler writes variables without it, since
// ARM keeps their export in the template's metadata, not on the variable).
func exportVariables(src string, names []string) string {
	for _, n := range names {
		re := regexp.MustCompile(`(?m)^var ` + regexp.QuoteMeta(n) + `\b`)
		src = re.ReplaceAllStringFunc(src, func(decl string) string { return "@export()\n" + decl })
	}
	return src
}
