package template

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// Plan is a template bound to a deployment: the resources to deploy, in
// template order (copy instances in index order, nested child resources
// right after their parent instance), each with its resolved dependencies.
type Plan struct {
	// Resources are the resources to deploy, and the existing resources
	// (languageVersion 2.0 "existing": true) the template reads.
	Resources []*Resource
	// Skipped are the resources whose condition is false, for what-if and
	// deployment operations. They have no Body and nothing depends on them.
	Skipped []*Resource
	// Parameters are the parameters as bound (secure values included: the
	// engine redacts them). Empty for an outer-scope nested deployment,
	// which sees its parent's.
	Parameters map[string]BoundParameter
	// Mode is the deployment mode: Incremental or Complete.
	Mode string

	b *binding
}

// Resource is one resource instance of a plan.
type Resource struct {
	// Symbol is the symbolic name (languageVersion 2.0) or "".
	Symbol string
	// CopyName and CopyIndex identify a copy loop instance; CopyName is
	// "" outside a loop. BatchSize is the batch size of a serial loop (0
	// for parallel): the plan already makes each batch depend on the one
	// before, so the engine needs only DependsOn.
	CopyName  string
	CopyIndex int
	BatchSize int
	// Type is the full type (Microsoft.Web/sites/config) and Name the
	// full name (site1/web), as ARM writes them. An extension resource in
	// the old form keeps its written type and name
	// (Microsoft.Storage/storageAccounts/providers/roleAssignments,
	// "sa/Microsoft.Authorization/guid").
	Type       string
	APIVersion string
	Name       string
	// ID is the full resource ID, at the deployment's scope, at a nested
	// deployment's or existing resource's subscriptionId/resourceGroup, or
	// under the resource an extension resource extends.
	ID string
	// Scope is, for an extension resource, the ID of the resource it
	// extends ("" for others and for the deployment scope itself).
	Scope string
	// Existing resources are read, never written.
	Existing bool
	// DependsOn are the resources to deploy first: dependsOn as written
	// (IDs, names, copy loop names meaning every instance, symbolic
	// names), a nested child's parent, and the previous batch of a serial
	// loop. Dependencies on resources whose condition is false are
	// dropped, as ARM drops them.
	DependsOn []*Resource
	// Nested is set for Microsoft.Resources/deployments.
	Nested *NestedDeployment
	// Body evaluates the resource's ARM request body now: every member
	// but type, apiVersion, name, dependsOn, copy, condition, scope,
	// comments, existing, resources, subscriptionId, resourceGroup and
	// metadata, with
	// this instance's copyIndex bound. Call it once DependsOn are
	// deployed: it may call reference(). A nested deployment's
	// properties.template is returned as written (bind it with Nested).
	Body func() (*expr.Object, error)
	// Path, Line and Column locate the declaration in the template.
	Path   string
	Line   int
	Column int

	decl    *resourceDecl
	loops   []loopFrame
	b       *binding
	parent  *Resource
	skipped bool
}

// Bind binds parameters, evaluates variables, expands resources (condition,
// copy, names, types, IDs, nested children) and resolves dependsOn. Resource
// bodies are not evaluated: see Resource.Body.
func (t *Template) Bind(d Deployment) (*Plan, error) {
	b, err := newBinding(t, &d)
	if err != nil {
		return nil, err
	}
	provided, err := decodeParameters(d.Parameters)
	if err != nil {
		return nil, err
	}
	return b.bind(provided)
}

func (b *binding) bind(provided *expr.Object) (*Plan, error) {
	if err := b.bindParameters(provided); err != nil {
		return nil, err
	}
	if err := b.bindVariables(); err != nil {
		return nil, err
	}
	return b.expand()
}

func (b *binding) expand() (*Plan, error) {
	mode := b.d.Mode
	if mode == "" {
		mode = "Incremental"
	}
	b.plan = &Plan{Mode: mode, b: b, Parameters: map[string]BoundParameter{}}
	if b.env == b {
		b.plan.Parameters = b.boundParameters()
	}
	for _, d := range b.t.resources {
		if err := b.expandDecl(d, nil, nil); err != nil {
			return nil, err
		}
		if len(b.instances) > MaxResources*4 {
			break // far past the limit: stop expanding, report below
		}
	}
	n := 0
	for _, r := range b.instances {
		if !r.Existing {
			n++
		}
	}
	if n > MaxResources {
		return nil, invalid(b.t.at(b.t.base.key("resources")), nil, "The number of template resources limit exceeded. Limit: '%d' and actual: '%d'. Please see %s for usage details.", MaxResources, n, helpLimits)
	}
	b.indexInstances()
	if err := b.resolveDepends(); err != nil {
		return nil, err
	}
	return b.plan, nil
}

func (b *binding) declPlace(d *resourceDecl) place { return b.t.atObject(d.raw, d.path) }

// bindErr is an error evaluating a resource member at bind time.
func (b *binding) bindErr(d *resourceDecl, at jsonPath, err error) error {
	sub, cause := splitPlace(err)
	var te *Error
	if errors.As(cause, &te) {
		return te
	}
	rp := b.declPlace(d)
	e := resourceInvalid(rp, d.label(), cause, "%s", causeMessage(cause))
	pp := b.t.at(append(at, sub...))
	e.Path, e.Line, e.Column = pp.path.String(), pp.line, pp.col
	return e
}

func (b *binding) evalBind(d *resourceDecl, loops []loopFrame, at jsonPath, v any) (any, error) {
	r, err := b.host(ctxBind, loops).evalTree(v, 0)
	if err != nil {
		return nil, b.bindErr(d, at, err)
	}
	return r, nil
}

func (b *binding) evalBindString(d *resourceDecl, loops []loopFrame, key string, v any) (string, error) {
	r, err := b.evalBind(d, loops, d.path.key(key), v)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", b.bindErr(d, d.path.key(key), fmt.Errorf("The '%s' property must evaluate to a string, not a value of type '%s'.", key, expr.TypeName(r)))
	}
	return s, nil
}

func (b *binding) expandDecl(d *resourceDecl, parent *Resource, loops []loopFrame) error {
	count, batch := 1, 0
	if d.copy != nil {
		n, err := b.host(ctxBind, loops).evalCount(d.copy.count, d.copy.name)
		if err != nil {
			sub, cause := splitPlace(err)
			rp := b.declPlace(d)
			e := invalid(rp, cause, "The template resource '%s'%s has an invalid copy count: %s", d.label(), rp.lc(), sentence(causeMessage(cause)))
			pp := b.t.at(append(d.copy.path.key("count"), sub...))
			e.Path, e.Line, e.Column = pp.path.String(), pp.line, pp.col
			return e
		}
		count = n
		if d.copy.mode == "serial" {
			batch = 1
			if d.copy.batchSize != nil {
				bv, err := b.evalBind(d, loops, d.copy.path.key("batchSize"), d.copy.batchSize)
				if err != nil {
					return err
				}
				bs, ok := bv.(int64)
				if !ok || bs < 1 || bs > MaxCopyCount {
					return b.bindErr(d, d.copy.path.key("batchSize"), fmt.Errorf("The copy batch size '%s' is not valid: it must be an integer from 1 to %d. Please see %s for usage details.", displayValue(bv), MaxCopyCount, helpCopy))
				}
				batch = int(bs)
			}
		}
	}
	rp := b.declPlace(d)
	for i := 0; i < count; i++ {
		ls := loops
		if d.copy != nil {
			ls = append(append(make([]loopFrame, 0, len(loops)+1), loops...), loopFrame{name: d.copy.name, index: i})
		}
		r := &Resource{Symbol: d.symbol, Type: d.fullType, Existing: d.existing, decl: d, loops: ls, b: b, parent: parent,
			Path: rp.path.String(), Line: rp.line, Column: rp.col}
		if d.copy != nil {
			r.CopyName, r.CopyIndex, r.BatchSize = d.copy.name, i, batch
		}
		cond := true
		if d.hasCond {
			cv, err := b.evalBind(d, ls, d.path.key("condition"), d.condition)
			if err != nil {
				return err
			}
			switch c := cv.(type) {
			case bool:
				cond = c
			case string:
				pb, perr := strconv.ParseBool(c)
				if perr != nil {
					return b.bindErr(d, d.path.key("condition"), fmt.Errorf("The condition must evaluate to a boolean, not the string '%s'.", c))
				}
				cond = pb
			default:
				return b.bindErr(d, d.path.key("condition"), fmt.Errorf("The condition must evaluate to a boolean, not a value of type '%s'.", expr.TypeName(cv)))
			}
		}
		r.skipped = !cond
		name, err := b.evalBindString(d, ls, "name", d.name)
		if err != nil {
			if !cond {
				// Azure does not evaluate a conditioned-out resource
				// beyond its condition; keep it listed by its written name.
				r.Name = d.label()
				b.record(r)
				continue
			}
			return err
		}
		if parent != nil && !strings.Contains(d.typ, "/") {
			name = parent.Name + "/" + name
		}
		r.Name = name
		if r.APIVersion, err = b.evalBindString(d, ls, "apiVersion", d.apiVersion); err != nil {
			if !cond {
				b.record(r)
				continue
			}
			return err
		}
		if err := b.placeResource(r); err != nil {
			if !cond {
				b.record(r)
				continue
			}
			return err
		}
		b.record(r)
		if !r.skipped {
			r.Body = func() (*expr.Object, error) { return b.body(r) }
		}
		for _, c := range d.children {
			if err := b.expandDecl(c, r, ls); err != nil {
				return err
			}
		}
	}
	return nil
}

// record adds an instance to the plan and the lookup indexes.
func (b *binding) record(r *Resource) {
	b.instances = append(b.instances, r)
	if r.skipped {
		b.plan.Skipped = append(b.plan.Skipped, r)
	} else {
		b.plan.Resources = append(b.plan.Resources, r)
	}
	if r.Symbol != "" {
		k := strings.ToLower(r.Symbol)
		b.bySymbol[k] = append(b.bySymbol[k], r)
	}
	if r.CopyName != "" {
		k := strings.ToLower(r.CopyName)
		b.byLoop[k] = append(b.byLoop[k], r)
	}
	if r.Name != "" {
		k := strings.ToLower(r.Name)
		b.byName[k] = append(b.byName[k], r)
	}
	if r.ID != "" {
		k := strings.ToLower(r.ID)
		if prev, ok := b.byID[k]; !ok || prev.skipped || prev.Existing {
			b.byID[k] = r
		}
	}
}

// placeResource computes the resource ID (and a nested deployment's target
// scope), and refuses a second resource with the same ID.
func (b *binding) placeResource(r *Resource) error {
	d := r.decl
	scope := b.d.Scope
	rp := b.declPlace(d)
	segErr := func() error {
		e := invalid(rp, nil, "The template resource '%s' for type '%s'%s has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name. Please see %s for usage details.", r.Name, r.Type, rp.lc(), helpResources)
		e.Target = r.Name
		return e
	}
	switch {
	case d.deployment || d.existing && (d.subscriptionID != nil || d.resourceGroup != nil):
		target := scope
		if d.deployment && d.scope != nil {
			s, err := b.evalBindString(d, r.loops, "scope", d.scope)
			if err != nil {
				return err
			}
			if target, err = parseDeploymentScope(s, scope.TenantID); err != nil {
				return b.bindErr(d, d.path.key("scope"), err)
			}
		}
		if d.subscriptionID != nil {
			sub, err := b.evalBindString(d, r.loops, "subscriptionId", d.subscriptionID)
			if err != nil {
				return err
			}
			if sub != "" {
				target = expr.Scope{TenantID: scope.TenantID, SubscriptionID: sub}
			}
		}
		if d.resourceGroup != nil {
			rg, err := b.evalBindString(d, r.loops, "resourceGroup", d.resourceGroup)
			if err != nil {
				return err
			}
			if rg != "" {
				if target.SubscriptionID == "" {
					return b.bindErr(d, d.path.key("resourceGroup"), fmt.Errorf("A resource group can only be targeted from a subscription: give 'subscriptionId' as well."))
				}
				target = expr.Scope{TenantID: scope.TenantID, SubscriptionID: target.SubscriptionID, ResourceGroup: rg}
			}
		}
		if d.deployment {
			if strings.Contains(r.Name, "/") || r.Name == "" {
				return segErr()
			}
			r.ID = target.ID() + "/providers/" + deploymentsType + "/" + r.Name
			r.Nested = &NestedDeployment{Scope: target, InnerScope: d.innerScope, Template: d.nested, TemplateLink: d.linked, r: r}
		} else {
			id, ok := resourceIDAt(target, r.Type, r.Name)
			if !ok {
				return segErr()
			}
			r.ID = id
		}
	case d.scope != nil:
		s, err := b.evalBindString(d, r.loops, "scope", d.scope)
		if err != nil {
			return err
		}
		base := extensionBase(s, scope)
		rel, ok := relativeID(r.Type, r.Name)
		if !ok {
			return segErr()
		}
		r.Scope = base
		r.ID = base + "/providers/" + rel
	default:
		id, ok := resourceIDAt(scope, r.Type, r.Name)
		if !ok {
			return segErr()
		}
		r.ID = id
	}
	if !r.skipped && !r.Existing {
		if prev, ok := b.byID[strings.ToLower(r.ID)]; ok && !prev.skipped && !prev.Existing {
			e := invalid(rp, nil, "The resource '%s'%s is defined multiple times in a template. Please see %s for usage details.", r.ID, rp.lc(), helpResources)
			e.Target = r.ID
			return e
		}
	}
	return nil
}

// relativeID interleaves a type and a name into
// "{ns}/{type1}/{name1}/{type2}/{name2}", honouring the old extension form
// where a "providers" type segment takes its namespace from the name
// ("Microsoft.Web/sites/providers/locks", "site/Microsoft.Authorization/lock").
func relativeID(typ, name string) (string, bool) {
	ts := strings.Split(typ, "/")
	ns := strings.Split(name, "/")
	if len(ts)-1 != len(ns) || len(ts) < 2 {
		return "", false
	}
	var b strings.Builder
	b.WriteString(ts[0])
	for i, t := range ts[1:] {
		if ns[i] == "" {
			return "", false
		}
		b.WriteByte('/')
		if strings.EqualFold(t, "providers") {
			b.WriteString("providers/")
			b.WriteString(ns[i])
			continue
		}
		b.WriteString(t)
		b.WriteByte('/')
		b.WriteString(ns[i])
	}
	return b.String(), true
}

// resourceIDAt is a resource's ID at a deployment scope.
func resourceIDAt(s expr.Scope, typ, name string) (string, bool) {
	rel, ok := relativeID(typ, name)
	if !ok {
		return "", false
	}
	if strings.EqualFold(typ, "Microsoft.Resources/resourceGroups") && s.Level() == expr.SubscriptionLevel {
		return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + name, true
	}
	return s.ID() + "/providers/" + rel, true
}

// extensionBase is the ID an extension resource's "scope" names: a full
// resource ID, "/" for the tenant root, or an ID relative to the
// deployment scope ("Microsoft.Storage/storageAccounts/sa", as Bicep
// writes it).
func extensionBase(s string, at expr.Scope) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "/" || s == "":
		return ""
	case strings.HasPrefix(s, "/"):
		return strings.TrimRight(s, "/")
	}
	return at.ID() + "/providers/" + strings.Trim(s, "/")
}

// parseDeploymentScope reads a nested deployment's "scope": "/" (the
// tenant), a management group, a subscription or a resource group ID.
func parseDeploymentScope(s, tenantID string) (expr.Scope, error) {
	segs := strings.Split(strings.Trim(strings.TrimSpace(s), "/"), "/")
	if len(segs) == 1 && segs[0] == "" {
		return expr.Scope{TenantID: tenantID}, nil
	}
	if len(segs) >= 2 && strings.EqualFold(segs[0], "providers") {
		segs = segs[1:]
	}
	switch {
	case len(segs) == 3 && strings.EqualFold(segs[0], "Microsoft.Management") && strings.EqualFold(segs[1], "managementGroups"):
		return expr.Scope{TenantID: tenantID, ManagementGroup: segs[2]}, nil
	case len(segs) == 2 && strings.EqualFold(segs[0], "subscriptions"):
		return expr.Scope{TenantID: tenantID, SubscriptionID: segs[1]}, nil
	case len(segs) == 4 && strings.EqualFold(segs[0], "subscriptions") && strings.EqualFold(segs[2], "resourceGroups"):
		return expr.Scope{TenantID: tenantID, SubscriptionID: segs[1], ResourceGroup: segs[3]}, nil
	}
	return expr.Scope{}, fmt.Errorf("The nested deployment scope '%s' is not valid: it must be '/', a management group, a subscription or a resource group.", s)
}

// resolveDepends turns dependsOn into resource pointers, adds the implied
// dependencies (a nested child on its parent, a serial batch on the one
// before) and refuses cycles.
func (b *binding) resolveDepends() error {
	for _, r := range b.plan.Resources {
		seen := map[*Resource]bool{}
		add := func(t *Resource) {
			if t.skipped || seen[t] {
				return
			}
			seen[t] = true
			r.DependsOn = append(r.DependsOn, t)
		}
		for i, e := range r.decl.dependsOn {
			at := r.decl.path.key("dependsOn").idx(i)
			v, err := b.evalBind(r.decl, r.loops, at, e)
			if err != nil {
				return err
			}
			s, ok := v.(string)
			if !ok {
				return b.bindErr(r.decl, at, fmt.Errorf("A dependsOn entry must evaluate to a string, not a value of type '%s'.", expr.TypeName(v)))
			}
			targets := b.dependencyTargets(s)
			if len(targets) == 0 {
				pl := b.t.at(at)
				e := invalid(pl, nil, "The resource '%s' is not defined in the template. Please see %s for usage details.", s, helpTemplate)
				e.Target = s
				return e
			}
			for _, t := range targets {
				add(t)
			}
		}
		if r.parent != nil {
			add(r.parent)
		}
	}
	// Serial loops: each batch waits for the one before.
	done := map[*resourceDecl]bool{}
	for _, r := range b.plan.Resources {
		d := r.decl
		if d.copy == nil || d.copy.mode != "serial" || done[d] {
			continue
		}
		done[d] = true
		var prev, cur []*Resource
		n := 0
		for _, x := range b.plan.Resources {
			if x.decl != d || x.parent != r.parent {
				continue
			}
			if n == r.BatchSize {
				prev, cur, n = cur, nil, 0
			}
			for _, p := range prev {
				x.DependsOn = append(x.DependsOn, p)
			}
			cur = append(cur, x)
			n++
		}
	}
	return b.checkCycles()
}

// dependencyTargets finds what a dependsOn entry names.
func (b *binding) dependencyTargets(s string) []*Resource {
	if b.t.symbolic {
		sym, idx := splitIndex(s)
		if rs, ok := b.bySymbol[strings.ToLower(sym)]; ok {
			if idx < 0 {
				return rs
			}
			for _, r := range rs {
				if r.CopyIndex == idx {
					return []*Resource{r}
				}
			}
		}
	}
	if rs, ok := b.byLoop[strings.ToLower(s)]; ok {
		return rs
	}
	k := strings.ToLower(strings.TrimRight(s, "/"))
	if strings.HasPrefix(s, "/") {
		return b.byAnyID[k]
	}
	if rs, ok := b.byName[k]; ok {
		return rs
	}
	return b.byRelative[k]
}

// checkCycles refuses a dependency cycle, naming it.
func (b *binding) checkCycles() error {
	const (
		unseen = iota
		active
		finished
	)
	state := map[*Resource]int{}
	var stack []*Resource
	var cycle []*Resource
	var visit func(r *Resource) bool
	visit = func(r *Resource) bool {
		state[r] = active
		stack = append(stack, r)
		for _, dep := range r.DependsOn {
			switch state[dep] {
			case active:
				for i := len(stack) - 1; i >= 0; i-- {
					if stack[i] == dep {
						cycle = append(append([]*Resource(nil), stack[i:]...), dep)
						break
					}
				}
				return false
			case unseen:
				if !visit(dep) {
					return false
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[r] = finished
		return true
	}
	for _, r := range b.plan.Resources {
		if state[r] == unseen && !visit(r) {
			names := make([]string, len(cycle))
			for i, c := range cycle {
				names[i] = "'" + c.ID + "'"
			}
			pl := b.t.at(cycle[0].decl.path)
			e := invalid(pl, nil, "Circular dependency detected on resource: '%s'. The dependency cycle is %s. Please see %s for usage details.", cycle[0].ID, strings.Join(names, " -> "), helpResources)
			e.Target = cycle[0].ID
			return e
		}
	}
	return nil
}

// body evaluates a resource's request body.
func (b *binding) body(r *Resource) (*expr.Object, error) {
	d := r.decl
	h := b.host(ctxRuntime, r.loops)
	out := expr.NewObject(d.raw.Len())
	for i := 0; i < d.raw.Len(); i++ {
		k, v := d.raw.At(i)
		if bodyExcluded[strings.ToLower(k)] {
			continue
		}
		var ev any
		var err error
		if d.deployment && strings.EqualFold(k, "properties") {
			ev, err = h.deploymentProperties(v)
		} else {
			ev, err = h.evalTree(v, 0)
		}
		if err != nil {
			return nil, b.runtimeErr(r, d.path.key(k), err)
		}
		out.Set(k, ev)
	}
	return out, nil
}

// deploymentProperties evaluates a nested deployment's properties but
// its template, which is the nested deployment's to evaluate.
func (h *host) deploymentProperties(v any) (any, error) {
	props, ok := v.(*expr.Object)
	if !ok {
		return h.evalTree(v, 0)
	}
	out := expr.NewObject(props.Len())
	for i := 0; i < props.Len(); i++ {
		k, pv := props.At(i)
		if strings.EqualFold(k, "template") {
			if _, isObj := pv.(*expr.Object); isObj {
				out.Set(k, pv)
				continue
			}
		}
		ev, err := h.evalTree(pv, 1)
		if err != nil {
			return nil, prependKey(err, k)
		}
		out.Set(k, ev)
	}
	return out, nil
}

// runtimeErr is ARM's error for an expression that fails as a resource
// deploys.
func (b *binding) runtimeErr(r *Resource, at jsonPath, err error) error {
	sub, cause := splitPlace(err)
	var te *Error
	if errors.As(cause, &te) {
		return te
	}
	rp := b.declPlace(r.decl)
	pp := b.t.at(append(at, sub...))
	where := ""
	if rp.line > 0 {
		where = fmt.Sprintf(" at line '%d' and column '%d'", rp.line, rp.col)
	}
	return &Error{
		Code:    CodeInvalidTemplate,
		Message: fmt.Sprintf("Unable to process template language expressions for resource '%s'%s. '%s'", r.ID, where, sentence(causeMessage(cause))),
		Target:  r.ID,
		Path:    pp.path.String(),
		Line:    pp.line,
		Column:  pp.col,
		Err:     cause,
	}
}
