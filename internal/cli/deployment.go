package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	armdeploy "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

func init() { register(addDeploymentCommands) }

// scopeCommand is one of az's deployment scopes as a command.
type scopeCommand struct {
	use, short string
	kind       scopeKind
}

var deploymentScopeCommands = []scopeCommand{
	{"group", "Deploy templates to a resource group", groupScope},
	{"sub", "Deploy templates to a subscription", subscriptionScope},
	{"mg", "Deploy templates to a management group", managementGroupScope},
	{"tenant", "Deploy templates to the tenant", tenantScope},
}

// addDeploymentCommands adds `keyless deployment`, shaped after `az
// deployment`: armresources' DeploymentsClient and
// DeploymentOperationsClient (api-version 2021-04-01) make every call.
func addDeploymentCommands(root *cobra.Command) {
	deployment := &cobra.Command{
		Use:   "deployment",
		Short: "Deploy ARM templates and manage deployments",
		Long: `Deploy ARM templates at resource group, subscription, management group or
tenant scope, preview them with what-if (which also says who gains or loses
which role), and read, list, cancel, export and delete deployments.`,
	}
	for _, s := range deploymentScopeCommands {
		c := &cobra.Command{Use: s.use, Short: s.short}
		c.AddCommand(deploymentCreateCommand(s.kind), deploymentWhatIfCommand(s.kind), deploymentValidateCommand(s.kind),
			deploymentShowCommand(s.kind), deploymentListCommand(s.kind), deploymentDeleteCommand(s.kind),
			deploymentCancelCommand(s.kind), deploymentExportCommand(s.kind))
		deployment.AddCommand(c)
	}
	operation := &cobra.Command{Use: "operation", Short: "Read the operations of a deployment: one per resource"}
	for _, s := range deploymentScopeCommands {
		c := &cobra.Command{Use: s.use, Short: "Deployment operations at " + strings.TrimPrefix(s.short, "Deploy templates to ")}
		c.AddCommand(deploymentOperationListCommand(s.kind))
		operation.AddCommand(c)
	}
	deployment.AddCommand(operation)
	root.AddCommand(deployment)
}

// ---- Flags --------------------------------------------------------------

// scopeFlags are the flags that name a scope: -g for a group,
// --management-group-id for a management group, and -l where a deployment
// at that scope needs a location for its data.
type scopeFlags struct {
	kind                             scopeKind
	group, managementGroup, location string
}

func addScopeFlags(cmd *cobra.Command, kind scopeKind, withLocation bool) *scopeFlags {
	f := &scopeFlags{kind: kind}
	switch kind {
	case groupScope:
		cmd.Flags().StringVarP(&f.group, "resource-group", "g", "", "resource group")
		_ = cmd.MarkFlagRequired("resource-group")
	case managementGroupScope:
		cmd.Flags().StringVarP(&f.managementGroup, "management-group-id", "m", "", "management group ID")
		_ = cmd.MarkFlagRequired("management-group-id")
	}
	if withLocation && kind != groupScope {
		cmd.Flags().StringVarP(&f.location, "location", "l", "", "location to store the deployment's data, e.g. westus")
		_ = cmd.MarkFlagRequired("location")
	}
	return f
}

func (f *scopeFlags) target(cmd *cobra.Command) (*deploymentTarget, error) {
	conn, err := Connect(cmd)
	if err != nil {
		return nil, err
	}
	scope := deploymentScope{kind: f.kind, resourceGroup: f.group, managementGroup: f.managementGroup}
	switch f.kind {
	case groupScope, subscriptionScope:
		if scope.subscriptionID, err = subscriptionOf(cmd, conn); err != nil {
			return nil, err
		}
	default:
		// Management group and tenant deployments are not in a
		// subscription; the client needs none.
		scope.subscriptionID = conn.SubscriptionID(cmd)
	}
	return newDeploymentTarget(conn, scope)
}

// templateFlags are what create, what-if and validate read a deployment
// from.
type templateFlags struct {
	scope      *scopeFlags
	name, file string
	parameters []string
	mode       string
	rollback   string
}

// lastSuccessful is --rollback-on-error given without a deployment name.
// Deployment names cannot hold brackets, so it cannot be one.
const lastSuccessful = "[last successful]"

func addTemplateFlags(cmd *cobra.Command, kind scopeKind, withRollback bool) *templateFlags {
	t := &templateFlags{scope: addScopeFlags(cmd, kind, true)}
	f := cmd.Flags()
	f.StringVarP(&t.name, "name", "n", "", "deployment name (default: the template file's name without its extension)")
	f.StringVarP(&t.file, "template-file", "f", "", "the template: an ARM template JSON file (comments allowed) or a .bicep file")
	f.StringArrayVarP(&t.parameters, "parameters", "p", nil, "parameters: @file.json (a deploymentParameters file), a .bicepparam file, inline JSON, or key=value; repeatable, later ones win")
	if kind == groupScope {
		f.StringVar(&t.mode, "mode", "Incremental", "Incremental, or Complete (also delete the group's resources the template does not name)")
	}
	if withRollback && kind == groupScope {
		f.StringVar(&t.rollback, "rollback-on-error", "", "on failure, redeploy the named deployment; without a name, the last successful one")
		f.Lookup("rollback-on-error").NoOptDefVal = lastSuccessful
	}
	f.Bool("no-prompt", false, "do not prompt for missing parameters (keyless never prompts for them; accepted for az parity)")
	multiWordFlags(cmd, "parameters", "what-if-exclude-change-types", "exclude-change-types")
	// az's -p and -x take several words (`-p a=1 b=2`), and
	// --rollback-on-error an optional separate word; pflag does neither,
	// so the words are rewritten before multiWordFlags' own rewriting.
	parse := cmd.PreRunE
	cmd.PreRunE = func(c *cobra.Command, args []string) error {
		return parse(c, rewriteDeploymentArgs(c, args))
	}
	return t
}

// rewriteDeploymentArgs spells the multi-word flags -p and -x long, and
// joins --rollback-on-error to the word after it when that word is not a
// flag (these commands take no positional words, so it can only be its
// value).
func rewriteDeploymentArgs(cmd *cobra.Command, args []string) []string {
	long := map[string]string{}
	for _, short := range []string{"p", "x"} {
		if f := cmd.Flags().ShorthandLookup(short); f != nil {
			long["-"+short] = "--" + f.Name
		}
	}
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		w := args[i]
		if w == "--" {
			return append(out, args[i:]...)
		}
		name, value, hasValue := strings.Cut(w, "=")
		if l, ok := long[name]; ok {
			if hasValue {
				w = l + "=" + value
			} else {
				w = l
			}
		}
		if w == "--rollback-on-error" && i+1 < len(args) && !isFlagWord(args[i+1]) {
			w += "=" + args[i+1]
			i++
		}
		out = append(out, w)
	}
	return out
}

// request reads the template and parameters into what the server gets;
// Bicep diagnostics go to diag. Without --template-file, the template is
// the one a .bicepparam file's using declaration names, as with az.
func (t *templateFlags) request(diag io.Writer) (deploymentRequest, error) {
	reader := parameterReader{diag: diag, compiled: map[string][]byte{}}
	var tpl *deploymentTemplate
	var err error
	source := t.file
	if t.file != "" {
		tpl, err = loadTemplate(t.file, diag)
	} else {
		for _, w := range nonEmpty(t.parameters) {
			path, ok := isBicepParams(w)
			if !ok {
				continue
			}
			var params []byte
			if params, tpl, err = compileBicepParams(path, diag); err == nil {
				reader.compiled[path] = params
				if tpl == nil {
					err = fmt.Errorf("--parameters %s: its using declaration names no template (using none); give --template-file", path)
				}
			}
			source = path
			break
		}
		if tpl == nil && err == nil {
			err = errors.New("give the template with --template-file (-f), or a .bicepparam file with --parameters")
		}
	}
	if err != nil {
		return deploymentRequest{}, err
	}
	params, err := reader.parse(t.parameters, tpl)
	if err != nil {
		return deploymentRequest{}, err
	}
	r := deploymentRequest{name: t.name, location: t.scope.location, template: tpl, params: params.object(), mode: armdeploy.DeploymentModeIncremental}
	if r.name == "" {
		r.name = defaultDeploymentName(source)
	}
	switch strings.ToLower(t.mode) {
	case "", "incremental":
	case "complete":
		r.mode = armdeploy.DeploymentModeComplete
	default:
		return deploymentRequest{}, fmt.Errorf("--mode must be Incremental or Complete, not %q", t.mode)
	}
	switch t.rollback {
	case "":
	case lastSuccessful:
		r.onError = &armdeploy.OnErrorDeployment{Type: to.Ptr(armdeploy.OnErrorDeploymentTypeLastSuccessful)}
	default:
		r.onError = &armdeploy.OnErrorDeployment{Type: to.Ptr(armdeploy.OnErrorDeploymentTypeSpecificDeployment), DeploymentName: to.Ptr(t.rollback)}
	}
	return r, nil
}

// whatIfFlags print a what-if (-x, -r).
type whatIfFlags struct {
	exclude      []string
	resultFormat string
}

func addWhatIfFlags(cmd *cobra.Command, prefix string) *whatIfFlags {
	w := &whatIfFlags{}
	f := cmd.Flags()
	f.StringArrayVarP(&w.exclude, prefix+"exclude-change-types", "x", nil, "space-separated change types to leave out: Create Delete Modify Deploy NoChange Ignore Unsupported")
	f.StringVarP(&w.resultFormat, prefix+"result-format", "r", "FullResourcePayloads", "FullResourcePayloads, or ResourceIdOnly")
	return w
}

func (w *whatIfFlags) options(color bool) (whatIfOptions, armdeploy.WhatIfResultFormat, error) {
	opts := whatIfOptions{color: color, exclude: map[string]bool{}}
	for _, word := range nonEmpty(w.exclude) {
		for _, k := range []string{kindCreate, kindDelete, kindModify, kindDeploy, kindNoChange, kindIgnore, kindUnsupported} {
			if strings.EqualFold(word, k) {
				opts.exclude[strings.ToLower(k)] = true
				word = ""
			}
		}
		if word != "" {
			return opts, "", fmt.Errorf("--what-if-exclude-change-types: %q is not a change type; give Create, Delete, Modify, Deploy, NoChange, Ignore or Unsupported", word)
		}
	}
	switch strings.ToLower(w.resultFormat) {
	case "", "fullresourcepayloads":
		return opts, armdeploy.WhatIfResultFormatFullResourcePayloads, nil
	case "resourceidonly":
		opts.idsOnly = true
		return opts, armdeploy.WhatIfResultFormatResourceIDOnly, nil
	}
	return opts, "", fmt.Errorf("--what-if-result-format must be FullResourcePayloads or ResourceIdOnly, not %q", w.resultFormat)
}

// ---- create -------------------------------------------------------------

func deploymentCreateCommand(kind scopeKind) *cobra.Command {
	var confirm, whatIfOnly, proceedIfNoChange, noWait, yes bool
	cmd := &cobra.Command{
		Use:   "create",
		Short: "Deploy a template, showing each resource as it is deployed",
		Long: `Deploy an ARM template. The deployment is validated first; while it runs, each
resource is shown on stderr as it starts and as it succeeds or fails, with a
count of the resources done, and a summary at the end. The deployment itself is
printed on stdout (-o json: that document only).

With --what-if, only the what-if is shown. With --confirm-with-what-if (-c), the
what-if is shown on stderr and the deployment runs once you answer y on the
terminal; without a terminal it is refused unless --yes is given.`,
		Example: exampleFor(kind, "create"),
	}
	flags := addTemplateFlags(cmd, kind, true)
	preview := addWhatIfFlags(cmd, "what-if-")
	f := cmd.Flags()
	f.BoolVarP(&confirm, "confirm-with-what-if", "c", false, "show the what-if first and ask before deploying")
	f.BoolVarP(&whatIfOnly, "what-if", "w", false, "show the what-if only; deploy nothing")
	f.BoolVar(&proceedIfNoChange, "proceed-if-no-change", false, "with -c: deploy without asking when the what-if shows no change")
	f.BoolVar(&noWait, "no-wait", false, "start the deployment and return at once; read it later with show")
	f.BoolVarP(&yes, "yes", "y", false, "with -c: deploy after showing the what-if without asking")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if whatIfOnly && confirm {
			return errors.New("give --what-if or --confirm-with-what-if, not both")
		}
		req, err := flags.request(cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		target, err := flags.scope.target(cmd)
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		stderr := cmd.ErrOrStderr()
		if whatIfOnly || confirm {
			w := cmd.OutOrStdout()
			if confirm {
				w = stderr
			}
			opts, format, err := preview.options(useColor(w))
			if err != nil {
				return err
			}
			req.resultFormat = format
			res, err := target.whatIf(ctx, req)
			if err != nil {
				return deploymentFailure(cmd, err)
			}
			if whatIfOnly {
				return printWhatIf(cmd, res, opts)
			}
			io.WriteString(w, formatWhatIf(res, opts))
			if !(proceedIfNoChange && noChanges(res)) {
				ok, err := confirmDeployment(cmd, yes)
				if err != nil || !ok {
					return err
				}
			}
		}
		validated, err := target.validate(ctx, req)
		if err != nil {
			return deploymentFailure(cmd, err)
		}
		total := 0
		if validated.Properties != nil {
			total = len(validated.Properties.ValidatedResources)
		}
		prog := newProgress(stderr, useColor(stderr), req.name, target.scope, total)
		if !noWait {
			// A redeployment's record lists the earlier run's
			// operations until its own replace them.
			if earlier, err := target.listOperations(ctx, req.name); err == nil {
				prog.ignoreEarlier(earlier)
			}
		}
		poller, err := target.beginCreate(ctx, req)
		if err != nil {
			return deploymentFailure(cmd, err)
		}
		if noWait {
			return nil
		}
		prog.header()
		d, err := watch(ctx, target, poller, prog)
		var ended *deploymentEnded
		if errors.As(err, &ended) {
			prog.summary(ended.deployment)
			return deploymentFailure(cmd, err)
		}
		if err != nil {
			return deploymentFailure(cmd, err)
		}
		prog.summary(d)
		return printResult(cmd, d, printShape{table: deploymentTable})
	}
	return cmd
}

// noChanges says whether a what-if predicts nothing to do.
func noChanges(res whatIfResult) bool {
	if res.Properties == nil {
		return true
	}
	for _, c := range res.Properties.Changes {
		if c != nil && c.ChangeType != nil && *c.ChangeType != armdeploy.ChangeTypeNoChange && *c.ChangeType != armdeploy.ChangeTypeIgnore {
			return false
		}
	}
	return true
}

// inputIsTerminal says whether r is an interactive terminal to ask on.
var inputIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// confirmDeployment asks on the terminal whether to deploy, as az's -c
// does; the answer defaults to no.
func confirmDeployment(cmd *cobra.Command, yes bool) (bool, error) {
	if yes {
		return true, nil
	}
	in := cmd.InOrStdin()
	if !inputIsTerminal(in) {
		return false, errors.New("--confirm-with-what-if asks on a terminal and stdin is not one; give --yes to deploy after the what-if without asking")
	}
	fmt.Fprint(cmd.ErrOrStderr(), "\nAre you sure you want to execute the deployment? (y/N): ")
	answer, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && answer == "" {
		fmt.Fprintln(cmd.ErrOrStderr())
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "Nothing was deployed.")
	return false, nil
}

// deploymentFailure reports a failed deployment call. An ARM error with
// nested details (DeploymentFailed and its causes, or a validation error
// with the template errors under it) is printed whole on stderr, one
// error a line, indented by depth; anything else becomes the one-line
// message every keyless command prints. Either way the exit status is 1.
func deploymentFailure(cmd *cobra.Command, err error) error {
	var tree *armErrorTree
	var ended *deploymentEnded
	if errors.As(err, &ended) {
		tree = ended.tree()
	} else {
		tree = errorTreeOf(err)
	}
	if tree == nil || (len(tree.Details) == 0 && ended == nil) {
		return err
	}
	writeErrorTree(cmd.ErrOrStderr(), tree)
	return ExitError{Code: 1, Err: err}
}

// ---- what-if, validate ----------------------------------------------------

func deploymentWhatIfCommand(kind scopeKind) *cobra.Command {
	var noPretty bool
	cmd := &cobra.Command{
		Use:   "what-if",
		Short: "Show what deploying a template would change, and who would gain or lose access",
		Long: `Predict what deploying a template would change, printed as az prints it:
+ Create, - Delete, ~ Modify, = NoChange, * Ignore, x Unsupported, with property
changes indented under each resource; then keyless's access summary: which
principal gains or loses which role at which scope, and which resources gain or
lose which identity. Colour is used when stdout is a terminal and NO_COLOR is
not set. --no-pretty-print, or an explicit -o, prints the result document
(with properties.accessChanges) instead.`,
		Example: exampleFor(kind, "what-if"),
	}
	flags := addTemplateFlags(cmd, kind, false)
	preview := addWhatIfFlags(cmd, "")
	cmd.Flags().BoolVar(&noPretty, "no-pretty-print", false, "print the what-if result as a document (-o) instead of the diff")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		opts, format, err := preview.options(useColor(cmd.OutOrStdout()))
		if err != nil {
			return err
		}
		req, err := flags.request(cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		req.resultFormat = format
		target, err := flags.scope.target(cmd)
		if err != nil {
			return err
		}
		res, err := target.whatIf(cmd.Context(), req)
		if err != nil {
			return deploymentFailure(cmd, err)
		}
		if noPretty {
			return printWhatIfDocument(cmd, res)
		}
		return printWhatIf(cmd, res, opts)
	}
	return cmd
}

// printWhatIf prints the diff, or, when -o was given, the document.
func printWhatIf(cmd *cobra.Command, res whatIfResult, opts whatIfOptions) error {
	if cmd.Flags().Changed("output") || cmd.Flags().Changed("query") {
		return printWhatIfDocument(cmd, res)
	}
	_, err := io.WriteString(cmd.OutOrStdout(), formatWhatIf(res, opts))
	return err
}

// printWhatIfDocument prints the result as the server sent it (with
// keyless's accessChanges), or as the SDK read it.
func printWhatIfDocument(cmd *cobra.Command, res whatIfResult) error {
	if res.raw != nil {
		return printResult(cmd, res.raw, printShape{})
	}
	return printResult(cmd, res.WhatIfOperationResult, printShape{})
}

func deploymentValidateCommand(kind scopeKind) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check that a template would be accepted, without deploying it",
		Long: `Validate a template and its parameters as create would, through the same
reads of the scope, and print the result: properties.validatedResources lists
the resources it would deploy. A template error prints ARM's InvalidTemplate
error with the file's line and column.`,
		Example: exampleFor(kind, "validate"),
	}
	flags := addTemplateFlags(cmd, kind, true)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		req, err := flags.request(cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		target, err := flags.scope.target(cmd)
		if err != nil {
			return err
		}
		res, err := target.validate(cmd.Context(), req)
		if err != nil {
			return deploymentFailure(cmd, err)
		}
		return printResult(cmd, res, printShape{})
	}
	return cmd
}

// ---- show, list, delete, cancel, export -------------------------------------

// nameFlag adds -n/--name, the deployment's name.
func nameFlag(cmd *cobra.Command) *string {
	var name string
	cmd.Flags().StringVarP(&name, "name", "n", "", "deployment name")
	_ = cmd.MarkFlagRequired("name")
	return &name
}

func deploymentShowCommand(kind scopeKind) *cobra.Command {
	cmd := &cobra.Command{Use: "show", Short: "Show a deployment", Args: cobra.NoArgs, Example: exampleFor(kind, "show")}
	scope := addScopeFlags(cmd, kind, false)
	name := nameFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		target, err := scope.target(cmd)
		if err != nil {
			return err
		}
		d, err := target.get(cmd.Context(), *name)
		if err != nil {
			return err
		}
		return printResult(cmd, d, printShape{table: deploymentTable})
	}
	return cmd
}

func deploymentListCommand(kind scopeKind) *cobra.Command {
	var filter string
	var top int32
	cmd := &cobra.Command{Use: "list", Short: "List the deployments at the scope (its history: the last 800)", Args: cobra.NoArgs, Example: exampleFor(kind, "list")}
	scope := addScopeFlags(cmd, kind, false)
	cmd.Flags().StringVar(&filter, "filter", "", `OData filter; ARM supports "provisioningState eq '{state}'"`)
	cmd.Flags().Int32Var(&top, "top", 0, "at most this many deployments")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		target, err := scope.target(cmd)
		if err != nil {
			return err
		}
		list, err := target.list(cmd.Context(), filter, top)
		if err != nil {
			return err
		}
		return printResult(cmd, list, printShape{table: deploymentTable})
	}
	return cmd
}

func deploymentDeleteCommand(kind scopeKind) *cobra.Command {
	var noWait bool
	cmd := &cobra.Command{
		Use:   "delete",
		Short: "Delete a deployment from the history (the resources it deployed stay)",
		Args:  cobra.NoArgs, Example: exampleFor(kind, "delete"),
	}
	scope := addScopeFlags(cmd, kind, false)
	name := nameFlag(cmd)
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "do not wait for the deletion to finish")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		target, err := scope.target(cmd)
		if err != nil {
			return err
		}
		return target.delete(cmd.Context(), *name, noWait)
	}
	return cmd
}

func deploymentCancelCommand(kind scopeKind) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cancel",
		Short: "Cancel a running deployment (what it already deployed stays)",
		Args:  cobra.NoArgs, Example: exampleFor(kind, "cancel"),
	}
	scope := addScopeFlags(cmd, kind, false)
	name := nameFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		target, err := scope.target(cmd)
		if err != nil {
			return err
		}
		return target.cancel(cmd.Context(), *name)
	}
	return cmd
}

func deploymentExportCommand(kind scopeKind) *cobra.Command {
	cmd := &cobra.Command{Use: "export", Short: "Print the template a deployment ran", Args: cobra.NoArgs, Example: exampleFor(kind, "export")}
	scope := addScopeFlags(cmd, kind, false)
	name := nameFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		target, err := scope.target(cmd)
		if err != nil {
			return err
		}
		tpl, err := target.exportTemplate(cmd.Context(), *name)
		if err != nil {
			return err
		}
		return printResult(cmd, tpl, printShape{})
	}
	return cmd
}

func deploymentOperationListCommand(kind scopeKind) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a deployment's operations: each resource's target, state, duration and error",
		Args:  cobra.NoArgs, Example: exampleFor(kind, "operation list"),
	}
	scope := addScopeFlags(cmd, kind, false)
	name := nameFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		target, err := scope.target(cmd)
		if err != nil {
			return err
		}
		ops, err := target.listOperations(cmd.Context(), *name)
		if err != nil {
			return err
		}
		return printResult(cmd, ops, printShape{table: operationTable})
	}
	return cmd
}

// ---- Tables and examples -------------------------------------------------

// deploymentTable is az's transform_deployment: Name, State, Timestamp,
// Mode, and ResourceGroup for deployments in a group.
func deploymentTable(doc any) any {
	row := func(d any) any {
		kv := []any{"Name", member(d, "name"), "State", member(d, "properties", "provisioningState"),
			"Timestamp", member(d, "properties", "timestamp"), "Mode", member(d, "properties", "mode")}
		if g, ok := member(d, "resourceGroup").(string); ok && g != "" {
			kv = append(kv, "ResourceGroup", g)
		}
		return tableRow(kv...)
	}
	items, ok := doc.([]any)
	if !ok {
		return row(doc)
	}
	rows := make([]any, 0, len(items))
	for _, d := range items {
		rows = append(rows, row(d))
	}
	return rows
}

// operationTable shows one operation a row.
func operationTable(doc any) any {
	items, _ := doc.([]any)
	rows := make([]any, 0, len(items))
	for _, op := range items {
		rows = append(rows, tableRow(
			"Resource", member(op, "properties", "targetResource", "resourceName"),
			"Type", member(op, "properties", "targetResource", "resourceType"),
			"Operation", member(op, "properties", "provisioningOperation"),
			"State", member(op, "properties", "provisioningState"),
			"Duration", member(op, "properties", "duration"),
			"StatusCode", member(op, "properties", "statusCode")))
	}
	return rows
}

func exampleFor(kind scopeKind, verb string) string {
	var scope, location string
	switch kind {
	case groupScope:
		scope = "group " + verb + " -g rg-app"
	case subscriptionScope:
		scope, location = "sub "+verb, " -l westus"
	case managementGroupScope:
		scope, location = "mg "+verb+" -m mg-platform", " -l westus"
	default:
		scope, location = "tenant "+verb, " -l westus"
	}
	cmd := "  keyless deployment " + scope
	if verb == "operation list" {
		cmd = "  keyless deployment operation " + scope
	}
	switch verb {
	case "create":
		return cmd + " -f azuredeploy.json" + location + " -p @azuredeploy.parameters.json -p identityName=id-web\n" +
			cmd + " -n release-42 -f azuredeploy.json" + location + " -c\n" +
			cmd + " -f azuredeploy.json" + location + " --no-wait"
	case "what-if", "validate":
		return cmd + " -f azuredeploy.json" + location + " -p count=3"
	case "list":
		return cmd + ` --filter "provisioningState eq 'Failed'" -o table`
	case "operation list":
		return strings.Replace(cmd, "operation list", "list", 1) + " -n azuredeploy -o table"
	}
	return cmd + " -n azuredeploy"
}
