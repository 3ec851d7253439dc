package deploy

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"

	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"

	"github.com/keyless-io/keyless/internal/deploy/expr"
)

// listGroupResources lists the resources of the deployment's resource
// group through the front door, every page.
func (r *run) listGroupResources(ctx context.Context) ([]string, error) {
	res := r.prep.resolver
	path := ScopeID(r.req.Scope) + "/resources"
	var ids []string
	for page := 0; page < 10000 && path != ""; page++ {
		v, err := res.call(http.MethodGet, path, resourcesAPIVersion, nil)
		if err != nil {
			return nil, err
		}
		o, _ := v.(*expr.Object)
		items, _ := o.Get("value")
		list, _ := items.([]any)
		for _, it := range list {
			if io, ok := it.(*expr.Object); ok {
				if id, ok := io.Get("id"); ok {
					ids = append(ids, id.(string))
				}
			}
		}
		path = ""
		if next, ok := o.Get("nextLink"); ok {
			if s, _ := next.(string); s != "" {
				if u, err := url.Parse(s); err == nil {
					path = u.Path + "?" + u.RawQuery
				}
			}
		}
	}
	return ids, nil
}

// completeMode deletes the group's resources the template does not name,
// each through the front door as the caller, so the lifecycle rules apply
// (a deleted resource's system-assigned principal and its role
// assignments go with it). Role assignments, locks and other extension
// resources are not resources of the group and are left alone, as Azure's
// complete mode leaves them.
func (r *run) completeMode(ctx context.Context) {
	ids, err := r.listGroupResources(ctx)
	if err != nil {
		r.fail(failureDetail(err))
		return
	}
	named := map[string]bool{}
	for _, res := range r.prep.plan.Resources {
		named[strings.ToLower(res.ID)] = true
	}
	// Children sort after their parents: delete the deepest first so a
	// parent's cascade never races its own children.
	sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) })
	for _, id := range ids {
		if named[strings.ToLower(id)] || coveredByNamedParent(id, named) {
			continue
		}
		op := &Operation{OperationID: newOperationID()}
		op.Properties = OperationProperties{ProvisioningOperation: "Delete", ProvisioningState: "Running", Timestamp: r.engine.cfg.Now().UTC(),
			TargetResource: &TargetResource{ID: id, ResourceName: lastName(id), ResourceType: typeOf(id)}}
		began := r.engine.cfg.Now()
		status, body, err := r.engine.cfg.Dispatch.Do(ctx, r.caller, http.MethodDelete, id, resourcesAPIVersion, nil, r.req.CorrelationID)
		op.Properties.Duration = isoDuration(r.engine.cfg.Now().Sub(began))
		if err == nil && status >= 400 && status != http.StatusNotFound {
			err = decodeFrontDoorError(status, body)
		}
		op.Properties.StatusCode = statusName(status)
		if err != nil {
			d := failureDetail(err)
			op.Properties.ProvisioningState = "Failed"
			op.Properties.StatusMessage = &StatusMessage{Status: "Failed", Error: &Error{Code: d.Code, Message: d.Message}}
			r.fail(d)
		} else {
			op.Properties.ProvisioningState = "Succeeded"
		}
		r.putOp(op)
	}
}

// coveredByNamedParent: a child resource of a resource the template names
// is the parent's business (deploying the parent does not delete children
// the template does not list, as in Azure).
func coveredByNamedParent(id string, named map[string]bool) bool {
	lower := strings.ToLower(id)
	i := strings.LastIndex(lower, "/providers/")
	if i < 0 {
		return false
	}
	segs := strings.Split(lower[i+len("/providers/"):], "/")
	// ns/type/name/childType/childName...: parents are every prefix ending
	// in a name.
	for end := 3; end < len(segs); end += 2 {
		if named[lower[:i]+"/providers/"+strings.Join(segs[:end], "/")] {
			return true
		}
	}
	return false
}

// lastName and typeOf read a resource ID with azcore's parser, as the rest
// of keyless does.
func lastName(id string) string {
	if rid, err := azarm.ParseResourceID(id); err == nil {
		return rid.Name
	}
	segs := strings.Split(strings.TrimSuffix(id, "/"), "/")
	return segs[len(segs)-1]
}

func typeOf(id string) string {
	if rid, err := azarm.ParseResourceID(id); err == nil {
		return rid.ResourceType.String()
	}
	return ""
}

// rollback redeploys the deployment onErrorDeployment names, under its own
// name, as Azure does, and reports how that went. A deployment whose
// template took secure parameters cannot be redeployed: their values are
// never kept.
func (r *run) rollback(ctx context.Context) string {
	e := r.engine
	var target Record
	switch r.req.OnError.Type {
	case "SpecificDeployment":
		rec, err := e.Get(ctx, r.req.Scope, r.req.OnError.DeploymentName)
		if err != nil {
			r.rollbackFailed("the deployment '" + r.req.OnError.DeploymentName + "' named by onErrorDeployment does not exist at this scope")
			return "Failed"
		}
		target = rec
	default:
		recs, err := e.List(ctx, r.req.Scope, "Succeeded", "", 0)
		if err != nil {
			r.rollbackFailed(err.Error())
			return "Failed"
		}
		for _, rec := range recs {
			if strings.EqualFold(rec.Name, r.req.Name) {
				continue
			}
			if target.Name == "" || rec.Properties.Timestamp.After(target.Properties.Timestamp) {
				target = rec
			}
		}
		if target.Name == "" {
			r.rollbackFailed("no earlier successful deployment exists at this scope")
			return "Failed"
		}
	}
	r.rec.Properties.OnErrorDeployment.DeploymentName = target.Name
	params := map[string]any{}
	for name, p := range target.Properties.Parameters {
		if isSecureType(p.Type) {
			r.rollbackFailed("the deployment '" + target.Name + "' took the secure parameter '" + name + "', whose value keyless never keeps")
			return "Failed"
		}
		params[name] = map[string]any{"value": p.Value}
	}
	tpl, err := e.Template(ctx, r.req.Scope, target.Name)
	if err != nil {
		r.rollbackFailed(err.Error())
		return "Failed"
	}
	pb, _ := json.Marshal(params)
	req := Request{Scope: r.req.Scope, Name: target.Name, Location: target.Location, Tags: target.Tags, Template: tpl,
		Parameters: pb, Mode: target.Properties.Mode, CorrelationID: r.req.CorrelationID}
	if _, err := e.Start(ctx, r.caller, req); err != nil {
		r.rollbackFailed(err.Error())
		return "Failed"
	}
	if err := e.Wait(ctx, req.Scope, req.Name); err != nil {
		return "Failed"
	}
	rec, err := e.Get(ctx, req.Scope, req.Name)
	if err != nil {
		return "Failed"
	}
	return rec.Properties.ProvisioningState
}

func (r *run) rollbackFailed(why string) {
	if r.rec.Properties.Error != nil {
		r.rec.Properties.Error.Details = append(r.rec.Properties.Error.Details, &ErrorDetail{Code: "OnErrorDeploymentFailed",
			Message: "The onErrorDeployment could not be started: " + why + "."})
	}
}
