package template

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// typeSpec is a parsed type constraint: a parameter's or output's
// declaration, a user-defined type in "definitions", or a part of one
// (a property, the items of an array, a discriminated variant).
type typeSpec struct {
	path jsonPath
	// typ is the lower-cased base type: string, securestring, int, bool,
	// object, secureobject, array, any; "" when only $ref gives it.
	typ      string
	ref      *typeSpec
	refName  string
	nullable bool
	allowed  []any

	minValue, maxValue   *int64
	minLength, maxLength *int64

	properties     []propSpec
	additional     *typeSpec
	additionalDeny bool // additionalProperties: false, or sealed
	items          *typeSpec
	itemsDeny      bool // items: false (a tuple with prefixItems only)
	prefixItems    []*typeSpec

	discriminator string
	mapping       []propSpec // discriminator value -> variant
}

type propSpec struct {
	name string
	spec *typeSpec
}

// baseTypes are the types ARM accepts, lower-cased, with the name its
// messages print.
var baseTypes = map[string]string{
	"string":       "String",
	"securestring": "SecureString",
	"int":          "Int",
	"bool":         "Bool",
	"object":       "Object",
	"secureobject": "SecureObject",
	"array":        "Array",
}

// DisplayType is ARM's spelling of a declared type, as deployment outputs
// and messages show it (String, SecureString, Int, Bool, Object,
// SecureObject, Array).
func DisplayType(typ string) string {
	if d, ok := baseTypes[strings.ToLower(typ)]; ok {
		return d
	}
	return typ
}

// isSecure reports whether the declared type is securestring or secureObject.
func (s *typeSpec) isSecure() bool {
	for i := 0; s != nil && i < 64; i++ {
		if s.typ == "securestring" || s.typ == "secureobject" {
			return true
		}
		if s.typ != "" {
			return false
		}
		s = s.ref
	}
	return false
}

// baseType is the declared type, following $ref.
func (s *typeSpec) baseType() string {
	for i := 0; s != nil && i < 64; i++ {
		if s.typ != "" {
			return s.typ
		}
		s = s.ref
	}
	return ""
}

// isNullable reports whether null is an accepted value.
func (s *typeSpec) isNullable() bool {
	for i := 0; s != nil && i < 64; i++ {
		if s.nullable {
			return true
		}
		s = s.ref
	}
	return false
}

// typeParser reads type constraints of one template; definitions are
// created before they are parsed so $ref may point forward or recursively.
type typeParser struct {
	t    *Template
	defs map[string]*typeSpec
	// pending are the specs whose $ref names a part of a definition
	// ("#/definitions/t/properties/p"), resolved once every definition
	// is parsed; defsDone says that moment has come.
	pending  []pendingRef
	defsDone bool
}

type pendingRef struct {
	spec *typeSpec
	path jsonPath
	what string
	ref  string
}

// parseDefinitions reads the "definitions" section.
func (tp *typeParser) parseDefinitions(section any, path jsonPath) error {
	if section == nil {
		tp.defsDone = true
		return nil
	}
	o, ok := section.(*expr.Object)
	if !ok {
		return invalid(tp.t.at(path), nil, "The template 'definitions' section must be an object. Please see %s for usage details.", helpTemplate)
	}
	for i := 0; i < o.Len(); i++ {
		k, _ := o.At(i)
		tp.defs[strings.ToLower(k)] = &typeSpec{}
	}
	for i := 0; i < o.Len(); i++ {
		k, v := o.At(i)
		spec := tp.defs[strings.ToLower(k)]
		if err := tp.fill(spec, v, path.key(k), "type definition '"+k+"'"); err != nil {
			return err
		}
	}
	tp.defsDone = true
	for _, p := range tp.pending {
		target, err := tp.resolveRef(p.ref)
		if err != nil {
			return tp.bad(p.path.key("$ref"), p.what, "%s", err.Error())
		}
		p.spec.ref = target
	}
	tp.pending = nil
	// A chain of $ref that never reaches a type ("a" is "b", "b" is "a")
	// has no meaning; refuse it rather than chase it at every check.
	for i := 0; i < o.Len(); i++ {
		k, _ := o.At(i)
		if tp.defs[strings.ToLower(k)].baseType() == "" {
			return tp.bad(path.key(k), "type definition '"+k+"'", "its '$ref' chain is circular and never reaches a type")
		}
	}
	return nil
}

// parse reads a type constraint object.
func (tp *typeParser) parse(v any, path jsonPath, what string) (*typeSpec, error) {
	s := &typeSpec{}
	if err := tp.fill(s, v, path, what); err != nil {
		return nil, err
	}
	return s, nil
}

func (tp *typeParser) bad(path jsonPath, what, format string, args ...any) *Error {
	p := tp.t.at(path)
	return invalid(p, nil, "The template %s%s is not valid: %s Please see %s for usage details.", what, p.lc(), sentence(fmt.Sprintf(format, args...)), helpParameters)
}

func (tp *typeParser) fill(s *typeSpec, v any, path jsonPath, what string) error {
	s.path = path
	o, ok := v.(*expr.Object)
	if !ok {
		return tp.bad(path, what, "a type declaration must be an object")
	}
	if tv, ok := o.Get("type"); ok {
		ts, isStr := tv.(string)
		if !isStr {
			return tp.bad(path.key("type"), what, "the 'type' property must be a string")
		}
		lt := strings.ToLower(ts)
		if _, known := baseTypes[lt]; !known && lt != "any" {
			return tp.bad(path.key("type"), what, "the type '%s' is not valid. The supported types are 'string, securestring, int, bool, object, secureObject, array'", ts)
		}
		s.typ = lt
	}
	if rv, ok := o.Get("$ref"); ok {
		ref, isStr := rv.(string)
		if !isStr {
			return tp.bad(path.key("$ref"), what, "the '$ref' property must be a string")
		}
		s.refName = ref
		if !tp.defsDone && isPartRef(ref) {
			// A part of a definition exists only once that definition
			// is parsed, which may come later in the section.
			tp.pending = append(tp.pending, pendingRef{spec: s, path: path, what: what, ref: ref})
		} else {
			target, err := tp.resolveRef(ref)
			if err != nil {
				return tp.bad(path.key("$ref"), what, "%s", err.Error())
			}
			s.ref = target
		}
	}
	if s.typ == "" && s.ref == nil && s.refName == "" {
		if tp.t.LanguageVersion != "2.0" {
			return tp.bad(path, what, "the 'type' property is missing")
		}
		// languageVersion 2.0 writes an unconstrained type (Bicep's any,
		// a resource-derived type it cannot name) with no 'type' at all.
		s.typ = "any"
	}
	if nv, ok := o.Get("nullable"); ok {
		b, isBool := nv.(bool)
		if !isBool {
			return tp.bad(path.key("nullable"), what, "the 'nullable' property must be a boolean")
		}
		s.nullable = b
	}
	if av, ok := o.Get("allowedValues"); ok {
		arr, isArr := av.([]any)
		if !isArr {
			return tp.bad(path.key("allowedValues"), what, "the 'allowedValues' property must be an array of values")
		}
		if len(arr) == 0 {
			return tp.bad(path.key("allowedValues"), what, "the 'allowedValues' property must not be empty")
		}
		s.allowed = arr
	}
	for _, f := range [...]struct {
		name string
		dst  **int64
	}{{"minValue", &s.minValue}, {"maxValue", &s.maxValue}, {"minLength", &s.minLength}, {"maxLength", &s.maxLength}} {
		fv, ok := o.Get(f.name)
		if !ok {
			continue
		}
		n, isInt := fv.(int64)
		if !isInt {
			return tp.bad(path.key(f.name), what, "the '%s' property must be an integer", f.name)
		}
		*f.dst = &n
	}
	if pv, ok := o.Get("properties"); ok {
		po, isObj := pv.(*expr.Object)
		if !isObj {
			return tp.bad(path.key("properties"), what, "the 'properties' property must be an object")
		}
		for i := 0; i < po.Len(); i++ {
			k, pv := po.At(i)
			ps, err := tp.parse(pv, path.key("properties").key(k), what)
			if err != nil {
				return err
			}
			s.properties = append(s.properties, propSpec{name: k, spec: ps})
		}
	}
	if av, ok := o.Get("additionalProperties"); ok {
		switch a := av.(type) {
		case bool:
			s.additionalDeny = !a
		default:
			as, err := tp.parse(a, path.key("additionalProperties"), what)
			if err != nil {
				return err
			}
			s.additional = as
		}
	}
	if sv, ok := o.Get("sealed"); ok {
		b, isBool := sv.(bool)
		if !isBool {
			return tp.bad(path.key("sealed"), what, "the 'sealed' property must be a boolean")
		}
		if b {
			s.additionalDeny = true
		}
	}
	if iv, ok := o.Get("items"); ok {
		switch it := iv.(type) {
		case bool:
			s.itemsDeny = !it
		default:
			is, err := tp.parse(it, path.key("items"), what)
			if err != nil {
				return err
			}
			s.items = is
		}
	}
	if pv, ok := o.Get("prefixItems"); ok {
		arr, isArr := pv.([]any)
		if !isArr {
			return tp.bad(path.key("prefixItems"), what, "the 'prefixItems' property must be an array")
		}
		for i, e := range arr {
			es, err := tp.parse(e, path.key("prefixItems").idx(i), what)
			if err != nil {
				return err
			}
			s.prefixItems = append(s.prefixItems, es)
		}
	}
	if dv, ok := o.Get("discriminator"); ok {
		do, isObj := dv.(*expr.Object)
		if !isObj {
			return tp.bad(path.key("discriminator"), what, "the 'discriminator' property must be an object")
		}
		pn, _ := do.Get("propertyName")
		name, isStr := pn.(string)
		if !isStr || name == "" {
			return tp.bad(path.key("discriminator"), what, "the discriminator must name its 'propertyName'")
		}
		s.discriminator = name
		mv, _ := do.Get("mapping")
		mo, isObj := mv.(*expr.Object)
		if !isObj {
			return tp.bad(path.key("discriminator"), what, "the discriminator must have a 'mapping' object")
		}
		for i := 0; i < mo.Len(); i++ {
			k, variant := mo.At(i)
			vs, err := tp.parse(variant, path.key("discriminator").key("mapping").key(k), what)
			if err != nil {
				return err
			}
			s.mapping = append(s.mapping, propSpec{name: k, spec: vs})
		}
	}
	return nil
}

const definitionsPrefix = "#/definitions/"

func isPartRef(ref string) bool {
	return strings.HasPrefix(ref, definitionsPrefix) && strings.Contains(ref[len(definitionsPrefix):], "/")
}

// resolveRef resolves a JSON pointer into the template's own definitions:
// a whole definition ("#/definitions/name") or, as Bicep emits for type
// property and index access, a part of one (".../properties/p",
// ".../additionalProperties", ".../items", ".../prefixItems/n").
func (tp *typeParser) resolveRef(ref string) (*typeSpec, error) {
	if !strings.HasPrefix(ref, definitionsPrefix) {
		return nil, fmt.Errorf("the reference '%s' is not supported: a type can only refer to the template's own definitions ('#/definitions/name')", ref)
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~").Replace
	segs := strings.Split(ref[len(definitionsPrefix):], "/")
	name := unescape(segs[0])
	d, ok := tp.defs[strings.ToLower(name)]
	if !ok {
		return nil, fmt.Errorf("the type definition '%s' referenced by '%s' is not defined in the template", name, ref)
	}
	for i := 1; i < len(segs); i++ {
		for d.ref != nil && len(d.properties) == 0 && d.items == nil && d.additional == nil && len(d.prefixItems) == 0 {
			d = d.ref // through aliases to the type that has the parts
		}
		var next *typeSpec
		switch segs[i] {
		case "properties":
			if i+1 < len(segs) {
				i++
				key := unescape(segs[i])
				for _, p := range d.properties {
					if strings.EqualFold(p.name, key) {
						next = p.spec
					}
				}
			}
		case "additionalProperties":
			next = d.additional
		case "items":
			next = d.items
		case "prefixItems":
			if i+1 < len(segs) {
				i++
				if n, err := strconv.Atoi(segs[i]); err == nil && n >= 0 && n < len(d.prefixItems) {
					next = d.prefixItems[n]
				}
			}
		}
		if next == nil {
			return nil, fmt.Errorf("the reference '%s' names no part of the type definition '%s'", ref, name)
		}
		d = next
	}
	return d, nil
}

// check validates a value against a type. It returns "" when the value
// is valid, otherwise the reason (never quoting the value of a secure
// type). at is the location inside the value ("" at its root).
func (s *typeSpec) check(v any, at string, depth int) string {
	if depth > 64 {
		return "the value is nested too deeply for its type to be checked"
	}
	if v == nil {
		if s.isNullable() || s.baseType() == "any" {
			return ""
		}
		return mismatch(s, v, at)
	}
	if s.ref != nil {
		if r := s.ref.check(v, at, depth+1); r != "" {
			return r
		}
	}
	if s.typ != "" && !matchesBase(s.typ, v) {
		return mismatch(s, v, at)
	}
	secure := s.isSecure()
	if len(s.allowed) > 0 {
		if arr, ok := v.([]any); ok && s.baseType() == "array" {
			for _, e := range arr {
				if !containsValue(s.allowed, e) {
					return notAllowed(s, e, at, secure)
				}
			}
		} else if !containsValue(s.allowed, v) {
			return notAllowed(s, v, at, secure)
		}
	}
	switch t := v.(type) {
	case int64:
		if s.minValue != nil && t < *s.minValue {
			return fmt.Sprintf("%sThe value should be greater than or equal to '%d'.", where(at), *s.minValue)
		}
		if s.maxValue != nil && t > *s.maxValue {
			return fmt.Sprintf("%sThe value should be less than or equal to '%d'.", where(at), *s.maxValue)
		}
	case string:
		if r := checkLength(s, int64(len([]rune(t))), at); r != "" {
			return r
		}
	case []any:
		if r := checkLength(s, int64(len(t)), at); r != "" {
			return r
		}
		for i, e := range t {
			elemAt := at + "[" + strconv.Itoa(i) + "]"
			switch {
			case i < len(s.prefixItems):
				if r := s.prefixItems[i].check(e, elemAt, depth+1); r != "" {
					return r
				}
			case s.itemsDeny && (len(s.prefixItems) > 0 || s.items == nil):
				return fmt.Sprintf("%sThe array has '%d' items but its type allows at most '%d'.", where(at), len(t), len(s.prefixItems))
			case s.items != nil:
				if r := s.items.check(e, elemAt, depth+1); r != "" {
					return r
				}
			}
		}
		if len(s.prefixItems) > len(t) {
			return fmt.Sprintf("%sThe array has '%d' items but its type requires '%d'.", where(at), len(t), len(s.prefixItems))
		}
	case *expr.Object:
		if s.discriminator != "" {
			dv, _ := t.Get(s.discriminator)
			ds, _ := dv.(string)
			var variant *typeSpec
			var names []string
			for _, m := range s.mapping {
				names = append(names, m.name)
				if m.name == ds {
					variant = m.spec
				}
			}
			if variant == nil {
				return fmt.Sprintf("%sThe discriminator property '%s' must be one of '%s'.", where(at), s.discriminator, strings.Join(names, ", "))
			}
			if r := variant.check(v, at, depth+1); r != "" {
				return r
			}
		}
		for _, p := range s.properties {
			pv, ok := t.Get(p.name)
			if !ok {
				if p.spec.isNullable() {
					continue
				}
				return fmt.Sprintf("%sThe required property '%s' is missing.", where(at), p.name)
			}
			if r := p.spec.check(pv, join(at, p.name), depth+1); r != "" {
				return r
			}
		}
		if s.additional != nil || s.additionalDeny {
			for i := 0; i < t.Len(); i++ {
				k, pv := t.At(i)
				if hasProp(s.properties, k) || s.discriminator != "" && strings.EqualFold(k, s.discriminator) {
					continue
				}
				if s.additionalDeny {
					return fmt.Sprintf("%sThe property '%s' is not allowed: the type does not permit additional properties.", where(at), k)
				}
				if r := s.additional.check(pv, join(at, k), depth+1); r != "" {
					return r
				}
			}
		}
	}
	return ""
}

func hasProp(ps []propSpec, k string) bool {
	for _, p := range ps {
		if strings.EqualFold(p.name, k) {
			return true
		}
	}
	return false
}

func join(at, k string) string {
	if at == "" {
		return k
	}
	return at + "." + k
}

func where(at string) string {
	if at == "" {
		return ""
	}
	return "At '" + at + "': "
}

func checkLength(s *typeSpec, n int64, at string) string {
	if s.minLength != nil && n < *s.minLength {
		return fmt.Sprintf("%sLength of the value should be greater than or equal to '%d'.", where(at), *s.minLength)
	}
	if s.maxLength != nil && n > *s.maxLength {
		return fmt.Sprintf("%sLength of the value should be less than or equal to '%d'.", where(at), *s.maxLength)
	}
	return ""
}

func mismatch(s *typeSpec, v any, at string) string {
	want := DisplayType(s.baseType())
	if want == "" || want == "any" {
		want = "Any"
	}
	switch want {
	case "SecureString":
		want = "String"
	case "SecureObject":
		want = "Object"
	}
	got := expr.TypeName(v)
	if at != "" {
		return fmt.Sprintf("Expected a value of type '%s' at '%s', but received a value of type '%s'.", want, at, got)
	}
	return fmt.Sprintf("Expected a value of type '%s', but received a value of type '%s'.", want, got)
}

func notAllowed(s *typeSpec, v any, at string, secure bool) string {
	shown := make([]string, len(s.allowed))
	for i, a := range s.allowed {
		shown[i] = displayValue(a)
	}
	if secure || at == "" {
		// At the root the caller quotes the value, as ARM's message does
		// ("The provided value 'x' for the template parameter ...").
		return fmt.Sprintf("%sThe parameter value is not part of the allowed value(s): '%s'.", where(at), strings.Join(shown, ","))
	}
	return fmt.Sprintf("%sThe value '%s' is not part of the allowed value(s): '%s'.", where(at), displayValue(v), strings.Join(shown, ","))
}

// displayValue renders a value as ARM quotes it in messages.
func displayValue(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	case *expr.Object:
		return t.String()
	default:
		b, err := jsonText(v)
		if err != nil {
			return expr.TypeName(v)
		}
		return b
	}
}

// matchesBase checks a non-null value against a base type.
func matchesBase(typ string, v any) bool {
	switch typ {
	case "string", "securestring":
		_, ok := v.(string)
		return ok
	case "int":
		_, ok := v.(int64)
		return ok
	case "bool":
		_, ok := v.(bool)
		return ok
	case "object", "secureobject":
		_, ok := v.(*expr.Object)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	}
	return true // any
}

// containsValue is allowedValues membership. Strings compare without
// regard to case: ARM accepts "standard_lrs" for an allowed
// "Standard_LRS", and refusing what Azure accepts would break templates.
func containsValue(allowed []any, v any) bool {
	for _, a := range allowed {
		if expr.EqualFold(a, v) {
			return true
		}
	}
	return false
}
