package template

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// Deployment is the input of one binding: where the template runs and
// everything its deployment-context functions read. The engine fills it
// from the deployment request and from ARM.
type Deployment struct {
	// Scope is where the deployment runs; resource IDs and resourceId()
	// are computed from it. TenantID is always set.
	Scope expr.Scope
	// Name is the deployment name (deployment().name).
	Name string
	// Location is the deployment's location at subscription, management
	// group and tenant scope; "" at resource group scope.
	Location string
	// Mode is "Incremental" (the default when "") or "Complete".
	Mode string
	// Parameters is the request's "parameters" object:
	// {"name": {"value": ...}}. A parameters file
	// ({"$schema": ".../deploymentParameters.json#", "parameters": {...}})
	// is accepted too. A Key Vault "reference" is refused as not supported.
	Parameters []byte
	// Resolver answers reference(), list*() and providers(); nil makes
	// them fail.
	Resolver Resolver
	// Now is utcNow()'s clock (parameter defaults only); nil means time.Now.
	Now func() time.Time
	// NewGUID is newGuid() (parameter defaults only); nil makes it fail.
	NewGUID func() string
	// DeploymentInfo, when set, is deployment() as is. Otherwise
	// deployment() is built from Name, Location, Mode and the template:
	// {"name", "location"?, "properties": {"template": ..., "mode", "provisioningState"}}.
	DeploymentInfo any
	// Environment is environment(), Deployer deployer().
	Environment any
	Deployer    any
	// ResourceGroupInfo is resourceGroup() (id, name, type, location,
	// tags, managedBy, properties), SubscriptionInfo subscription(),
	// TenantInfo tenant(), ManagementGroupInfo managementGroup(). Each may
	// be an expr value, JSON text ([]byte, json.RawMessage) or what
	// encoding/json produces; nil makes the function fail as ARM does at a
	// scope that has no such object.
	ResourceGroupInfo   any
	SubscriptionInfo    any
	TenantInfo          any
	ManagementGroupInfo any
}

// Resolver is what the engine provides for functions that read deployed
// resources. Calls come from Resource.Body, NestedDeployment.Bind and
// Plan.Outputs, possibly concurrently.
type Resolver interface {
	// Reference returns what ARM's reference() returns for a resource ID:
	// its properties (with provisioningState), or with full the whole
	// envelope (id, name, type, location, identity, properties, ...).
	// apiVersion is the one the template gives or, for a resource this
	// template declares, its declared apiVersion.
	Reference(id, apiVersion string, full bool) (any, error)
	// List is a list*() function (listKeys, listSecrets, ...): the POST
	// action on id. body is nil when not given.
	List(function, id, apiVersion string, body any) (any, error)
	// Providers is providers(namespace, [resourceType]).
	Providers(namespace, resourceType string) (any, error)
}

// ZonePicker is optionally implemented by a Resolver to answer
// pickZones(); without it pickZones() fails as not supported.
type ZonePicker interface {
	PickZones(namespace, resourceType, location string, count, offset int64) (any, error)
}

// loopFrame is one active copy loop.
type loopFrame struct {
	name  string
	index int
}

// binding is one template bound to one deployment.
type binding struct {
	t *Template
	d *Deployment
	// env is the binding whose parameters, variables and scope functions
	// expressions see: itself, or the parent's for a nested deployment
	// with outer expression scope.
	env *binding
	// outerLoops are the copy loops of the nested deployment resource an
	// outer-scope template belongs to (copyIndex() falls back to them).
	outerLoops []loopFrame
	// parent is the binding a nested deployment came from; reference()
	// by name looks there after this template's own resources.
	parent *binding

	params     map[string]any
	paramState map[string]int // 1 being evaluated, 2 bound
	provided   *expr.Object
	vars       map[string]any
	varState   map[string]int

	deploymentValue any
	infos           map[string]any // resourceGroup, subscription, ...
	bindWork        int64

	plan      *Plan
	bySymbol  map[string][]*Resource // lower-cased symbol -> instances (deployed, existing, skipped)
	byLoop    map[string][]*Resource
	byID      map[string]*Resource
	byName    map[string][]*Resource
	instances []*Resource // every expanded instance, in order
	// byAnyID finds instances by lower-cased ID; byRelative by
	// "type/name" and by each relative ID after a "/providers/", the forms
	// dependsOn and reference() accept. Built once expansion is done and
	// read-only after.
	byAnyID    map[string][]*Resource
	byRelative map[string][]*Resource
}

// indexInstances builds byAnyID and byRelative.
func (b *binding) indexInstances() {
	b.byAnyID = make(map[string][]*Resource, len(b.instances))
	b.byRelative = make(map[string][]*Resource, 2*len(b.instances))
	for _, r := range b.instances {
		id := strings.ToLower(r.ID)
		b.byAnyID[id] = append(b.byAnyID[id], r)
		tn := strings.ToLower(r.Type + "/" + r.Name)
		b.byRelative[tn] = append(b.byRelative[tn], r)
		for i := strings.Index(id, "/providers/"); i >= 0; {
			rel := id[i+len("/providers/"):]
			if rel != tn {
				b.byRelative[rel] = append(b.byRelative[rel], r)
			}
			j := strings.Index(rel, "/providers/")
			if j < 0 {
				break
			}
			i += len("/providers/") + j
		}
	}
}

func newBinding(t *Template, d *Deployment) (*binding, error) {
	b := &binding{t: t, d: d, params: map[string]any{}, paramState: map[string]int{}, vars: map[string]any{}, varState: map[string]int{},
		infos: map[string]any{}, bySymbol: map[string][]*Resource{}, byLoop: map[string][]*Resource{}, byID: map[string]*Resource{}, byName: map[string][]*Resource{}}
	b.env = b
	for name, v := range map[string]any{
		"resourceGroup": d.ResourceGroupInfo, "subscription": d.SubscriptionInfo, "tenant": d.TenantInfo,
		"managementGroup": d.ManagementGroupInfo, "environment": d.Environment, "deployer": d.Deployer,
	} {
		if v == nil {
			continue
		}
		ev, err := toValue(v)
		if err != nil {
			return nil, &Error{Code: CodeInternal, Message: fmt.Sprintf("The %s() value given to the template is not valid: %v", name, err), Err: err}
		}
		b.infos[name] = ev
	}
	if d.DeploymentInfo != nil {
		v, err := toValue(d.DeploymentInfo)
		if err != nil {
			return nil, &Error{Code: CodeInternal, Message: fmt.Sprintf("The deployment() value given to the template is not valid: %v", err), Err: err}
		}
		b.deploymentValue = v
	} else {
		props := expr.NewObject(3)
		props.Set("template", t.root)
		mode := d.Mode
		if mode == "" {
			mode = "Incremental"
		}
		props.Set("mode", mode)
		props.Set("provisioningState", "Accepted")
		dv := expr.NewObject(3)
		dv.Set("name", d.Name)
		if d.Location != "" {
			dv.Set("location", d.Location)
		}
		dv.Set("properties", props)
		b.deploymentValue = dv
	}
	return b, nil
}

// toValue converts what the engine gives into an expression value.
func toValue(v any) (any, error) {
	switch t := v.(type) {
	case []byte:
		return expr.DecodeJSON(t)
	case json.RawMessage:
		return expr.DecodeJSON(t)
	}
	return expr.FromJSON(v)
}

func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// host is the expr.Host of one evaluation.
type host struct {
	// NoHost answers any Host method expr adds before this package
	// implements it, with expr's "not available" error.
	expr.NoHost
	b     *binding
	ctx   evalContext
	loops []loopFrame
	ec    expr.Context
	// work counts values built, against maxWork; hosts of one Bind share
	// the binding's counter, each Body and Outputs call has its own.
	work *int64
}

// maxWork bounds the values one Bind, one Body or one Outputs call may
// build (copy loops nest: 800 resources of 800-element property loops of
// 800-element inputs would otherwise be half a billion values), so a
// hostile template fails instead of exhausting the server. Real templates
// use a tiny fraction.
const maxWork = 2 << 20

// exprBudget bounds one expression's work (expr's units), well below
// expr's default: a template step runs many expressions.
const exprBudget = 4 << 20

var errTooCostly = errors.New("The template is too costly to evaluate: its copy loops and values exceed the work keyless allows for one deployment step.")

func (h *host) charge(n int64) error {
	*h.work += n
	if *h.work > maxWork {
		return errTooCostly
	}
	return nil
}

func (b *binding) host(ctx evalContext, loops []loopFrame) *host {
	h := &host{b: b, ctx: ctx, loops: loops, work: &b.bindWork}
	if ctx == ctxRuntime {
		h.work = new(int64)
	}
	h.ec = expr.Context{Host: h, Functions: b.t.funcs, Budget: exprBudget}
	if ctx == ctxParamDefault {
		h.ec.Now = b.d.Now
		if h.ec.Now == nil {
			h.ec.Now = time.Now
		}
		h.ec.NewGUID = b.d.NewGUID
	}
	return h
}

func notExpected(fn string) error {
	return fmt.Errorf("The template function '%s' is not expected at this location. Please see %s for usage details.", fn, expr.FunctionsHelp)
}

func (h *host) Scope() expr.Scope { return h.b.env.d.Scope }

func (h *host) Parameter(name string) (any, error) {
	env := h.b.env
	k := strings.ToLower(name)
	if env.paramState[k] == 2 {
		return env.params[k], nil
	}
	if _, ok := env.t.paramIndex[k]; !ok {
		return nil, expr.ErrNotFound
	}
	return env.resolveParam(k)
}

func (h *host) Variable(name string) (any, error) {
	if h.ctx == ctxParamDefault {
		return nil, notExpected("variables")
	}
	env := h.b.env
	k := strings.ToLower(name)
	if env.varState[k] == 2 {
		return env.vars[k], nil
	}
	if _, ok := env.t.varIndex[k]; !ok {
		return nil, expr.ErrNotFound
	}
	return env.resolveVar(k)
}

func (h *host) CopyIndex(loop string) (int64, error) {
	frames := h.loops
	if len(h.b.outerLoops) > 0 {
		frames = append(append([]loopFrame(nil), h.b.outerLoops...), h.loops...)
	}
	if len(frames) == 0 {
		return 0, fmt.Errorf("The template function 'copyIndex' is not expected at this location. The function can only be used in a resource, property, variable or output with copy specified. Please see %s for usage details.", helpCopy)
	}
	if loop == "" {
		return int64(frames[len(frames)-1].index), nil
	}
	names := make([]string, 0, len(frames))
	for i := len(frames) - 1; i >= 0; i-- {
		if strings.EqualFold(frames[i].name, loop) {
			return int64(frames[i].index), nil
		}
		names = append(names, frames[i].name)
	}
	return 0, fmt.Errorf("The template function 'copyIndex' has an invalid copy loop name '%s': the loops in scope are '%s'. Please see %s for usage details.", loop, strings.Join(names, ", "), helpCopy)
}

func (h *host) Deployment() (any, error) { return h.b.env.deploymentValue, nil }

func (h *host) info(name string) (any, error) {
	if v, ok := h.b.env.infos[name]; ok {
		return v, nil
	}
	return nil, notExpected(name)
}

func (h *host) Deployer() (any, error)        { return h.info("deployer") }
func (h *host) Environment() (any, error)     { return h.info("environment") }
func (h *host) ResourceGroup() (any, error)   { return h.info("resourceGroup") }
func (h *host) Subscription() (any, error)    { return h.info("subscription") }
func (h *host) Tenant() (any, error)          { return h.info("tenant") }
func (h *host) ManagementGroup() (any, error) { return h.info("managementGroup") }

func (h *host) resolver(fn string) (Resolver, error) {
	if !h.ctx.allowsRuntime() {
		return nil, notExpected(fn)
	}
	if h.b.d.Resolver == nil {
		return nil, fmt.Errorf("the template function '%s' needs deployed resources, and none can be read here: %w", fn, ErrNotSupported)
	}
	return h.b.d.Resolver, nil
}

func (h *host) Reference(target, apiVersion string, full bool) (any, error) {
	res, err := h.resolver("reference")
	if err != nil {
		return nil, err
	}
	id, api, err := h.b.resolveTarget(target, apiVersion, "reference")
	if err != nil {
		return nil, err
	}
	return res.Reference(id, api, full)
}

// References is references(symbol): reference() of every deployed
// instance of a copy loop declared by symbolic name, in index order.
func (h *host) References(collection string, full bool) (any, error) {
	res, err := h.resolver("references")
	if err != nil {
		return nil, err
	}
	rs, ok := h.b.bySymbol[strings.ToLower(collection)]
	if !ok || !h.b.t.symbolic {
		return nil, fmt.Errorf("The resource collection '%s' is not defined in the template. Please see %s for usage details.", collection, helpTemplate)
	}
	out := []any{}
	for _, r := range rs {
		if r.skipped {
			continue
		}
		v, err := res.Reference(r.ID, r.APIVersion, full)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (h *host) List(function, target, apiVersion string, body any) (any, error) {
	res, err := h.resolver(function)
	if err != nil {
		return nil, err
	}
	id, api, err := h.b.resolveTarget(target, apiVersion, function)
	if err != nil {
		return nil, err
	}
	return res.List(function, id, api, body)
}

func (h *host) Providers(namespace, resourceType string) (any, error) {
	if h.b.d.Resolver == nil {
		return nil, fmt.Errorf("the template function 'providers' cannot be answered here: %w", ErrNotSupported)
	}
	return h.b.d.Resolver.Providers(namespace, resourceType)
}

func (h *host) PickZones(namespace, resourceType, location string, count, offset int64) (any, error) {
	if zp, ok := h.b.d.Resolver.(ZonePicker); ok {
		return zp.PickZones(namespace, resourceType, location, count, offset)
	}
	return nil, fmt.Errorf("the template function 'pickZones' is not supported by keyless, which has no availability zones: %w", ErrNotSupported)
}

// resolveTarget turns reference()/list*()'s first argument into a
// resource ID and API version: a resource ID, a symbolic name
// (languageVersion 2.0, "name" or "name[i]" for a loop instance), or the
// name of a resource this template declares.
func (b *binding) resolveTarget(target, apiVersion, fn string) (string, string, error) {
	for cur := b; cur != nil; cur = cur.parent {
		r, err := cur.findTarget(target)
		if err != nil {
			return "", "", err
		}
		if r != nil {
			if r.skipped {
				return "", "", fmt.Errorf("The resource '%s' is not deployed: its condition evaluated to false, so '%s' cannot read it.", r.ID, fn)
			}
			if apiVersion == "" {
				apiVersion = r.APIVersion
			}
			return r.ID, apiVersion, nil
		}
	}
	if strings.HasPrefix(target, "/") {
		if apiVersion == "" {
			return "", "", fmt.Errorf("The API version of resource '%s' must be given to '%s': the resource is not declared in this template.", target, fn)
		}
		return target, apiVersion, nil
	}
	return "", "", fmt.Errorf("The resource '%s' is not defined in the template. Please see %s for usage details.", target, helpTemplate)
}

func (b *binding) findTarget(target string) (*Resource, error) {
	if strings.HasPrefix(target, "/") {
		return b.byID[strings.ToLower(strings.TrimRight(target, "/"))], nil
	}
	if b.t.symbolic {
		sym, idx := splitIndex(target)
		if rs, ok := b.bySymbol[strings.ToLower(sym)]; ok && len(rs) > 0 {
			d := rs[0].decl
			switch {
			case d.copy != nil && idx < 0:
				return nil, fmt.Errorf("The resource '%s' is a copy loop: refer to one instance as '%s[index]'.", sym, sym)
			case d.copy == nil && idx >= 0:
				return nil, fmt.Errorf("The resource '%s' is not a copy loop and cannot be indexed.", sym)
			case idx < 0:
				return rs[0], nil
			}
			for _, r := range rs {
				if r.CopyIndex == idx {
					return r, nil
				}
			}
			return nil, fmt.Errorf("The copy index '%d' of resource '%s' is out of range: the loop has '%d' instances.", idx, sym, len(rs))
		}
	}
	rs := b.byName[strings.ToLower(target)]
	var deployed []*Resource
	for _, r := range rs {
		if !r.skipped {
			deployed = append(deployed, r)
		}
	}
	switch {
	case len(deployed) == 1:
		return deployed[0], nil
	case len(deployed) > 1:
		return nil, fmt.Errorf("The resource name '%s' is ambiguous: more than one resource in the template has it; use the resource ID.", target)
	case len(rs) > 0:
		return rs[0], nil
	}
	// "type/name" as dependsOn and reference accept it.
	if rs := b.byRelative[strings.ToLower(target)]; len(rs) > 0 {
		return rs[0], nil
	}
	return nil, nil
}

// splitIndex splits "name[3]" into "name" and 3; idx is -1 without one.
func splitIndex(s string) (string, int) {
	if !strings.HasSuffix(s, "]") {
		return s, -1
	}
	open := strings.LastIndexByte(s, '[')
	if open <= 0 {
		return s, -1
	}
	n, err := strconv.Atoi(s[open+1 : len(s)-1])
	if err != nil || n < 0 {
		return s, -1
	}
	return s[:open], n
}

// evalTree evaluates a template value: expressions in strings and object
// keys, and property copy loops. Errors carry the path below v.
func (h *host) evalTree(v any, depth int) (any, error) {
	if depth > maxDocDepth {
		return nil, errors.New("The template value is nested too deeply.")
	}
	if err := h.charge(1); err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case string:
		return h.evalString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := h.evalTree(e, depth+1)
			if err != nil {
				return nil, prependIdx(err, i)
			}
			out[i] = r
		}
		return out, nil
	case *expr.Object:
		out := expr.NewObject(x.Len())
		for i := 0; i < x.Len(); i++ {
			k, e := x.At(i)
			if strings.EqualFold(k, "copy") {
				if loops, ok := propertyLoops(e); ok {
					for j, l := range loops {
						arr, err := h.evalLoop(l, depth+1)
						if err != nil {
							return nil, prependKey(prependIdx(err, j), k)
						}
						out.Set(l.name, arr)
					}
					continue
				}
			}
			key := k
			if expr.IsExpression(k) || strings.HasPrefix(k, "[[") {
				kv, err := h.evalString(k)
				if err != nil {
					return nil, prependKey(err, k)
				}
				ks, ok := kv.(string)
				if !ok {
					return nil, prependKey(fmt.Errorf("The template property name '%s' must evaluate to a string, not '%s'.", k, expr.TypeName(kv)), k)
				}
				key = ks
			}
			r, err := h.evalTree(e, depth+1)
			if err != nil {
				return nil, prependKey(err, k)
			}
			out.Set(key, r)
		}
		return out, nil
	}
	return v, nil
}

func (h *host) evalString(s string) (any, error) {
	if !expr.IsExpression(s) {
		return expr.Literal(s), nil
	}
	e, err := h.b.t.exprs.get(s)
	if err != nil {
		return nil, &errPlace{err: err}
	}
	v, err := e.Eval(&h.ec)
	if err != nil {
		return nil, &errPlace{err: err}
	}
	return v, nil
}

func prependKey(err error, k string) error {
	ep, ok := err.(*errPlace)
	if !ok {
		return &errPlace{path: jsonPath{{key: k}}, err: err}
	}
	ep.path = append(jsonPath{{key: k}}, ep.path...)
	return ep
}

func prependIdx(err error, i int) error {
	ep, ok := err.(*errPlace)
	if !ok {
		return &errPlace{path: jsonPath{{index: i, isIdx: true}}, err: err}
	}
	ep.path = append(jsonPath{{index: i, isIdx: true}}, ep.path...)
	return ep
}

// propertyLoop is one element of a property copy array.
type propertyLoop struct {
	name  string
	count any
	input any
}

// propertyLoops recognises a property copy: "copy": [{"name", "count",
// "input"}, ...] inside a resource's body or a variable's value.
func propertyLoops(v any) ([]propertyLoop, bool) {
	arr, ok := v.([]any)
	if !ok || len(arr) == 0 {
		return nil, false
	}
	out := make([]propertyLoop, 0, len(arr))
	for _, e := range arr {
		o, ok := e.(*expr.Object)
		if !ok {
			return nil, false
		}
		nv, _ := o.Get("name")
		name, _ := nv.(string)
		count, hasCount := o.Get("count")
		input, hasInput := o.Get("input")
		if name == "" || !hasCount || !hasInput {
			return nil, false
		}
		out = append(out, propertyLoop{name: name, count: count, input: input})
	}
	return out, true
}

// evalLoop evaluates a property, variable or output copy loop to its array.
func (h *host) evalLoop(l propertyLoop, depth int) ([]any, error) {
	n, err := h.evalCount(l.count, l.name)
	if err != nil {
		return nil, prependKey(err, "count")
	}
	out := make([]any, n)
	inner := &host{b: h.b, ctx: h.ctx, loops: append(append(make([]loopFrame, 0, len(h.loops)+1), h.loops...), loopFrame{name: l.name}), ec: h.ec, work: h.work}
	inner.ec.Host = inner
	for i := 0; i < n; i++ {
		inner.loops[len(inner.loops)-1].index = i
		v, err := inner.evalTree(l.input, depth+1)
		if err != nil {
			return nil, prependKey(err, "input")
		}
		out[i] = v
	}
	return out, nil
}

// evalCount evaluates a copy count: an integer from 0 to 800.
func (h *host) evalCount(v any, loop string) (int, error) {
	cv, err := h.evalTree(v, 0)
	if err != nil {
		return 0, err
	}
	var n int64
	switch c := cv.(type) {
	case int64:
		n = c
	case float64:
		if c != float64(int64(c)) {
			return 0, fmt.Errorf("The copy count of loop '%s' must be an integer, not '%v'. Please see %s for usage details.", loop, c, helpCopy)
		}
		n = int64(c)
	case string:
		p, perr := strconv.ParseInt(c, 10, 64)
		if perr != nil {
			return 0, fmt.Errorf("The copy count of loop '%s' must be an integer, not the string '%s'. Please see %s for usage details.", loop, c, helpCopy)
		}
		n = p
	default:
		return 0, fmt.Errorf("The copy count of loop '%s' must be an integer, not a value of type '%s'. Please see %s for usage details.", loop, expr.TypeName(cv), helpCopy)
	}
	if n < 0 || n > MaxCopyCount {
		return 0, fmt.Errorf("The copy count '%d' of loop '%s' is not valid: the copy count must be a non-negative integer value and cannot exceed '%d'. Please see %s for usage details.", n, loop, MaxCopyCount, helpCopy)
	}
	return int(n), nil
}
