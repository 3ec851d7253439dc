package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// progressInterval is how often a running deployment's status and
// operations are read. keyless deployments usually take well under a
// second; the server asks for 100 ms through Retry-After-Ms.
var progressInterval = 200 * time.Millisecond

// progress prints a running deployment's operations on stderr as they
// start and end, with a running count of finished resources out of the
// total (the validated resources), and a summary at the end.
type progress struct {
	w     io.Writer
	color bool
	total int
	// state is the last state printed per operation.
	state map[string]string
	// stale are the operations of an earlier deployment under the same
	// name, listed until this one replaces them.
	stale             map[string]bool
	succeeded, failed int
	started           time.Time
	name              string
	scope             deploymentScope
}

func newProgress(w io.Writer, color bool, name string, scope deploymentScope, total int) *progress {
	return &progress{w: w, color: color, total: total, state: map[string]string{}, stale: map[string]bool{}, started: time.Now(), name: name, scope: scope}
}

// ignoreEarlier remembers the operations a deployment of the same name
// left, so that they are not shown as this one's.
func (p *progress) ignoreEarlier(ops []*armdeploy.DeploymentOperation) {
	for _, op := range ops {
		if op != nil && op.OperationID != nil {
			p.stale[*op.OperationID] = true
		}
	}
}

func (p *progress) header() {
	noun := "resources"
	if p.total == 1 {
		noun = "resource"
	}
	fmt.Fprintf(p.w, "Deploying '%s' to %s: %d %s.\n", p.name, p.scope, p.total, noun)
}

func isTerminalState(s string) bool {
	return s == "Succeeded" || s == "Failed" || s == "Canceled"
}

// update prints what changed since the last call: operations seen for the
// first time running, and operations that have ended, in the order they
// ended.
func (p *progress) update(ops []*armdeploy.DeploymentOperation) {
	type event struct {
		op    *armdeploy.DeploymentOperation
		state string
		at    time.Time
	}
	var events []event
	for _, op := range ops {
		if op == nil || op.Properties == nil || op.OperationID == nil {
			continue
		}
		id, state := *op.OperationID, derefString(op.Properties.ProvisioningState)
		if p.stale[id] {
			continue
		}
		prev, seen := p.state[id]
		if prev == state || (seen && isTerminalState(prev)) {
			continue
		}
		if !isTerminalState(state) && seen {
			continue
		}
		var at time.Time
		if op.Properties.Timestamp != nil {
			at = *op.Properties.Timestamp
		}
		events = append(events, event{op, state, at})
	}
	sort.SliceStable(events, func(i, j int) bool {
		if !events[i].at.Equal(events[j].at) {
			return events[i].at.Before(events[j].at)
		}
		return operationTarget(events[i].op) < operationTarget(events[j].op)
	})
	for _, e := range events {
		p.state[*e.op.OperationID] = e.state
		p.total = max(p.total, len(p.state))
		switch e.state {
		case "Succeeded":
			p.succeeded++
		case "Failed", "Canceled":
			p.failed++
		}
		p.line(e.op, e.state)
	}
}

func (p *progress) line(op *armdeploy.DeploymentOperation, state string) {
	done := p.succeeded + p.failed
	width := len(strconv.Itoa(p.total))
	word, color := "Started", colorGray
	switch state {
	case "Succeeded":
		word, color = "Succeeded", colorGreen
	case "Failed":
		word, color = "Failed", colorRed
	case "Canceled":
		word, color = "Canceled", colorOrange
	}
	t := &colorText{color: p.color}
	t.write(fmt.Sprintf("  [%*d/%d] ", width, done, p.total))
	t.push(color)
	t.write(fmt.Sprintf("%-9s", word))
	t.pop()
	t.write(" " + operationTarget(op))
	if isTerminalState(state) {
		if d := isoDuration(derefString(op.Properties.Duration)); d != "" {
			t.write(" (" + d + ")")
		}
	}
	if state == "Failed" {
		if sm := op.Properties.StatusMessage; sm != nil && sm.Error != nil {
			t.write(": (" + derefString(sm.Error.Code) + ") " + oneLine(derefString(sm.Error.Message)))
		}
	}
	fmt.Fprintln(p.w, t.b.String())
}

// operationTarget names an operation's resource by its ID relative to its
// scope, as what-if does: Microsoft.ManagedIdentity/userAssignedIdentities/id-web.
func operationTarget(op *armdeploy.DeploymentOperation) string {
	tr := op.Properties.TargetResource
	if tr == nil {
		return derefString(op.OperationID)
	}
	if id := derefString(tr.ID); id != "" {
		if _, rel := splitResourceID(id); rel != "" {
			return rel
		}
		return id
	}
	return derefString(tr.ResourceType) + "/" + derefString(tr.ResourceName)
}

// summary prints how the deployment ended, and a successful one's outputs.
func (p *progress) summary(d armdeploy.DeploymentExtended) {
	state, took := "", time.Since(p.started)
	var outputs any
	if props := d.Properties; props != nil {
		state = string(derefState(props.ProvisioningState))
		if s := props.Duration; s != nil {
			if parsed, ok := parseISODuration(*s); ok {
				took = parsed
			}
		}
		outputs = props.Outputs
	}
	noun := func(n int) string {
		if n == 1 {
			return "1 resource"
		}
		return strconv.Itoa(n) + " resources"
	}
	t := &colorText{color: p.color}
	switch state {
	case "Succeeded":
		t.colored("Succeeded", colorGreen)
		t.write(fmt.Sprintf(": '%s' deployed %s in %s.", p.name, noun(p.succeeded), roundDuration(took)))
	case "Failed":
		t.colored("Failed", colorRed)
		t.write(fmt.Sprintf(": '%s' stopped after %s: %d of %d failed, %d succeeded.", p.name, roundDuration(took), p.failed, p.total, p.succeeded))
	default:
		t.colored(state, colorOrange)
		t.write(fmt.Sprintf(": '%s' after %s: %d of %d succeeded.", p.name, roundDuration(took), p.succeeded, p.total))
	}
	fmt.Fprintln(p.w, t.b.String())
	if state == "Succeeded" {
		writeOutputs(p.w, outputs)
	}
}

func derefState(s *armdeploy.ProvisioningState) armdeploy.ProvisioningState {
	if s == nil {
		return ""
	}
	return *s
}

// writeOutputs lists a deployment's outputs, one a line; a secure output
// has no value to show.
func writeOutputs(w io.Writer, outputs any) {
	m, _ := outputs.(map[string]any)
	if len(m) == 0 {
		return
	}
	fmt.Fprintln(w, "Outputs:")
	width := 0
	for k := range m {
		width = max(width, len(k))
	}
	for _, k := range sortedKeys(m) {
		o, _ := m[k].(map[string]any)
		v, has := o["value"]
		text := "(secure)"
		if has {
			if s, ok := v.(string); ok {
				text = s
			} else {
				b, _ := json.Marshal(v)
				text = string(b)
			}
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, k, text)
	}
}

var isoDurationPattern = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// parseISODuration reads ARM's ISO 8601 durations ("PT1M4.18S").
func parseISODuration(s string) (time.Duration, bool) {
	m := isoDurationPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			n, _ := strconv.Atoi(m[i+1])
			d += time.Duration(n) * unit
		}
	}
	if m[4] != "" {
		f, _ := strconv.ParseFloat(m[4], 64)
		d += time.Duration(math.Round(f * float64(time.Second)))
	}
	return d, true
}

// isoDuration is an ARM duration as a short Go one ("12ms"), or "".
func isoDuration(s string) string {
	d, ok := parseISODuration(s)
	if !ok {
		return ""
	}
	return roundDuration(d)
}

func roundDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(10 * time.Millisecond).String()
}

// watch follows a running deployment to its end: it polls the
// long-running operation and, between polls, the deployment's operations,
// printing progress. It returns the deployment as it ended.
func watch(ctx context.Context, target *deploymentTarget, poller deploymentPoller, prog *progress) (armdeploy.DeploymentExtended, error) {
	for !poller.Done() {
		if err := poller.Poll(ctx); err != nil {
			return armdeploy.DeploymentExtended{}, err
		}
		// Read after the poll, so that the last read, once the
		// deployment has ended, shows every operation's end.
		if ops, err := target.listOperations(ctx, prog.name); err == nil {
			prog.update(ops)
		}
		if poller.Done() {
			break
		}
		timer := time.NewTimer(progressInterval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return armdeploy.DeploymentExtended{}, ctx.Err()
		case <-timer.C:
		}
	}
	res, err := poller.Result(ctx)
	if err == nil {
		return res, nil
	}
	// A failed or canceled deployment: its record holds the error with
	// every detail.
	d, getErr := target.get(ctx, prog.name)
	if getErr != nil {
		return armdeploy.DeploymentExtended{}, err
	}
	if d.Properties == nil || d.Properties.ProvisioningState == nil || *d.Properties.ProvisioningState == armdeploy.ProvisioningStateSucceeded {
		return d, err
	}
	return d, &deploymentEnded{deployment: d, cause: err}
}

// deploymentEnded is a deployment that ran and did not succeed.
type deploymentEnded struct {
	deployment armdeploy.DeploymentExtended
	cause      error
}

func (e *deploymentEnded) Error() string {
	if t := e.tree(); t != nil {
		return "(" + t.Code + ") " + oneLine(t.Message)
	}
	return e.cause.Error()
}

func (e *deploymentEnded) Unwrap() error { return e.cause }

func (e *deploymentEnded) tree() *armErrorTree {
	if p := e.deployment.Properties; p != nil && p.Error != nil {
		return fromErrorResponse(p.Error)
	}
	if t := errorTreeOf(e.cause); t != nil {
		return t
	}
	if p := e.deployment.Properties; p != nil && p.ProvisioningState != nil {
		return &armErrorTree{Code: "Deployment" + string(*p.ProvisioningState),
			Message: fmt.Sprintf("The deployment '%s' ended %s.", derefString(e.deployment.Name), strings.ToLower(string(*p.ProvisioningState)))}
	}
	return nil
}
