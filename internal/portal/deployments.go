package portal

import (
	"net/url"
	"strings"
)

// vDeployments is the api-version of Microsoft.Resources/deployments.
const vDeployments = "2021-04-01"

// refreshSeconds is how often a page showing a deployment that has not
// finished reloads itself (a meta refresh: it works without the script).
const refreshSeconds = 2

// deployment is the part of a deployment the pages show.
type deployment struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		ProvisioningState string `json:"provisioningState"`
		Timestamp         string `json:"timestamp"`
		Duration          string `json:"duration"`
		Mode              string `json:"mode"`
		CorrelationID     string `json:"correlationId"`
		OutputResources   []struct {
			ID string `json:"id"`
		} `json:"outputResources"`
		Error *deploymentError `json:"error"`
	} `json:"properties"`
}

type deploymentError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Details []deploymentError `json:"details"`
}

// deploymentOperation is one operation of a deployment: one resource.
type deploymentOperation struct {
	ID          string `json:"id"`
	OperationID string `json:"operationId"`
	Properties  struct {
		ProvisioningOperation string `json:"provisioningOperation"`
		ProvisioningState     string `json:"provisioningState"`
		Timestamp             string `json:"timestamp"`
		Duration              string `json:"duration"`
		StatusCode            string `json:"statusCode"`
		StatusMessage         *struct {
			Error *deploymentError `json:"error"`
		} `json:"statusMessage"`
		TargetResource *struct {
			ID           string `json:"id"`
			ResourceName string `json:"resourceName"`
			ResourceType string `json:"resourceType"`
		} `json:"targetResource"`
	} `json:"properties"`
}

// running: a deployment (or operation) in this state has not finished.
func running(state string) bool {
	switch strings.ToLower(state) {
	case "succeeded", "failed", "canceled", "":
		return false
	}
	return true
}

func (d deployment) Running() bool { return running(d.Properties.ProvisioningState) }

func deploymentsPath(group scopeRef) string {
	return "/subscriptions/" + group.Subscription + "/resourcegroups/" + group.Group + "/providers/Microsoft.Resources/deployments"
}

// stateClass is the pill a provisioning state shows as.
func stateClass(state string) string {
	switch strings.ToLower(state) {
	case "succeeded":
		return "pill pill-ok"
	case "failed", "canceled":
		return "pill pill-bad"
	}
	return "pill pill-running"
}

// deploymentsBlade is a resource group's Deployments: the list, or with
// ?deployment= one deployment and its operations. While a deployment
// runs, the page reloads itself every few seconds.
func (p *Portal) deploymentsBlade(q *request, v scopeView, pg page) error {
	ref := v.Ref
	if ref.Level() != "group" {
		return p.overviewBlade(q, v, pg)
	}
	data := map[string]any{"View": v}
	if name := q.r.URL.Query().Get("deployment"); name != "" {
		if strings.ContainsAny(name, "/?#") {
			name = url.PathEscape(name)
		}
		base := deploymentsPath(ref) + "/" + name
		var d deployment
		if err := q.arm.get(base, vDeployments, &d); err != nil {
			return err
		}
		ops, err := list[deploymentOperation](q.arm, base+"/operations", vDeployments)
		if err != nil {
			return err
		}
		data["Deployment"], data["Operations"] = d, ops
		if d.Running() {
			pg.Refresh = refreshSeconds
		}
		pg.Crumbs = append(pg.Crumbs, crumb{ref.Group, portalURL(ref.ID)}, crumb{"Deployments", portalURL(ref.ID) + "?blade=deployments"})
		pg.Title = d.Name
	} else {
		ds, err := list[deployment](q.arm, deploymentsPath(ref), vDeployments)
		if err != nil {
			return err
		}
		// Newest first.
		sortBy(ds, func(d deployment) string { return d.Properties.Timestamp })
		for i, j := 0, len(ds)-1; i < j; i, j = i+1, j-1 {
			ds[i], ds[j] = ds[j], ds[i]
		}
		for _, d := range ds {
			if d.Running() {
				pg.Refresh = refreshSeconds
			}
		}
		data["Deployments"] = ds
	}
	pg.Data = data
	return q.show("deployments", pg)
}
