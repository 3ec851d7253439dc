package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/governanceapi"
	"github.com/keyless-io/keyless/internal/inventory"
	"github.com/keyless-io/keyless/internal/review"
)

// ExitFindings is the exit status of `keyless review --fail-on` when a
// finding at or above the threshold exists (CI pipelines gate on it).
const ExitFindings = 3

func init() {
	register(func(root *cobra.Command) {
		root.AddCommand(reviewCommand(), inventoryCommand())
	})
}

// reviewRequest fetches the access review of a scope through the API.
func reviewRequest(cmd *cobra.Command, scope roleScopeFlags, unusedDays int) (governanceapi.ReviewResult, error) {
	var out governanceapi.ReviewResult
	conn, err := Connect(cmd)
	if err != nil {
		return out, err
	}
	at, err := scope.resolve(conn.SubscriptionID(cmd))
	if err != nil {
		return out, err
	}
	path := strings.TrimSuffix(at, "/") + governanceapi.ReviewPath
	if unusedDays > 0 {
		path += "?unusedDays=" + strconv.Itoa(unusedDays)
	}
	return out, conn.callQuery(cmd, path, &out)
}

// callQuery is call for a GET whose path may carry query parameters of its
// own besides api-version.
func (c *Connection) callQuery(cmd *cobra.Command, pathAndQuery string, out any) error {
	path, rawQuery, _ := strings.Cut(pathAndQuery, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return err
	}
	return c.callWithQuery(cmd.Context(), http.MethodGet, path, governanceapi.APIVersion, q, out)
}

func reviewCommand() *cobra.Command {
	var (
		scope      roleScopeFlags
		unusedDays int
		failOn     string
	)
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Review identities and service principals against least privilege and hygiene rules",
		Long: `Evaluate every managed identity and service principal under a scope and print
the findings: unused identities and assignments, permissions beyond use (with
the narrowest built-in role that covers what was used), privileged roles, broad
scopes, shared identities, client secrets, identities without roles and stale
federated credentials. Each finding has a stable ID and, where one command
applies its recommendation, a fix: keyless review apply ID runs it.

-o json prints {"findings": [...]}; -o table a line per finding; -o md a
Markdown report. With --fail-on, the exit status is 3 when a finding at or
above that severity exists.`,
		Example: `  keyless review -g rg-app -o table
  keyless review --scope /subscriptions/$SUB --fail-on high
  keyless review -o md > access-review.md`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			threshold := 0
			if failOn != "" {
				threshold = review.Severity(strings.ToLower(failOn)).Rank()
				if threshold == 0 {
					return fmt.Errorf("--fail-on %q: give low, medium or high", failOn)
				}
			}
			res, err := reviewRequest(cmd, scope, unusedDays)
			if err != nil {
				return err
			}
			if err := printReview(cmd, res); err != nil {
				return err
			}
			if threshold > 0 {
				for _, f := range res.Findings {
					if f.Severity.Rank() >= threshold {
						return ExitError{Code: ExitFindings, Err: fmt.Errorf("%d finding(s) at or above %s", countAtLeast(res.Findings, threshold), failOn)}
					}
				}
			}
			return nil
		},
	}
	scope.add(cmd, "scope to review")
	cmd.Flags().IntVar(&unusedDays, "unused-days", 90, "usage window: an identity or assignment not used for this many days is unused")
	cmd.Flags().StringVar(&failOn, "fail-on", "", "exit with status 3 when a finding of this severity or higher exists: low, medium, high")
	cmd.AddCommand(reviewApplyCommand())
	return cmd
}

func countAtLeast(fs []review.Finding, rank int) int {
	n := 0
	for _, f := range fs {
		if f.Severity.Rank() >= rank {
			n++
		}
	}
	return n
}

func printReview(cmd *cobra.Command, res governanceapi.ReviewResult) error {
	format, _ := cmd.Flags().GetString("output")
	w := cmd.OutOrStdout()
	switch strings.ToLower(format) {
	case "md", "markdown":
		_, err := w.Write(reviewMarkdown(res))
		return err
	case "table":
		rows := make([]map[string]any, 0, len(res.Findings))
		for _, f := range res.Findings {
			rows = append(rows, map[string]any{"Severity": f.Severity, "Rule": f.Rule, "Principal": f.DisplayName, "Scope": f.Scope, "Id": f.ID})
		}
		return Print(cmd, rows)
	}
	return Print(cmd, struct {
		Findings []review.Finding `json:"findings"`
	}{res.Findings})
}

func reviewMarkdown(res governanceapi.ReviewResult) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Access review\n\nScope `%s`, usage window %d days: %d finding(s).\n", res.Scope, res.UnusedDays, len(res.Findings))
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "\n## %s: %s — %s\n\n", strings.ToUpper(string(f.Severity)), f.Rule, f.DisplayName)
		fmt.Fprintf(&b, "- ID: `%s`\n- principal: `%s` (%s)\n- scope: `%s`\n", f.ID, f.PrincipalID, f.PrincipalType, f.Scope)
		for _, r := range f.ResourceIDs {
			fmt.Fprintf(&b, "- resource: `%s`\n", r)
		}
		fmt.Fprintf(&b, "\n%s\n\n**Recommendation:** %s\n", f.Evidence, f.Recommendation)
		if f.Fix != "" {
			fmt.Fprintf(&b, "\n```sh\n%s\n```\n", f.Fix)
		}
	}
	return []byte(b.String())
}

func reviewApplyCommand() *cobra.Command {
	var (
		scope      roleScopeFlags
		unusedDays int
		yes        bool
	)
	cmd := &cobra.Command{
		Use:   "apply FINDING_ID...",
		Short: "Apply the fixes of findings through the ARM API, as you",
		Long: `Run the fix of each named finding (a keyless command line) as the signed-in
principal, through the ARM API and its checks, audited like any change.
Nothing is changed without --yes or a "y" at the prompt.`,
		Example: "  keyless review apply unused-assignment-3f2a9c0d1e4b --yes",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			res, err := reviewRequest(cmd, scope, unusedDays)
			if err != nil {
				return err
			}
			byID := map[string]review.Finding{}
			for _, f := range res.Findings {
				byID[f.ID] = f
			}
			var fixes []review.Finding
			for _, id := range ids {
				f, ok := byID[id]
				switch {
				case !ok:
					return fmt.Errorf("no finding %s under %s (run keyless review to list them)", id, res.Scope)
				case f.Fix == "":
					return fmt.Errorf("finding %s has no fix to apply: %s", id, f.Recommendation)
				}
				fixes = append(fixes, f)
			}
			errw := cmd.ErrOrStderr()
			for _, f := range fixes {
				fmt.Fprintf(errw, "%s (%s): %s\n  %s\n", f.ID, f.Rule, f.Recommendation, f.Fix)
			}
			if !yes {
				ok, err := confirm(cmd, "Apply these fixes?")
				if err != nil || !ok {
					if err == nil {
						err = errors.New("nothing was changed")
					}
					return err
				}
			}
			for _, f := range fixes {
				for _, line := range strings.Split(f.Fix, " && ") {
					if err := runKeyless(cmd, line); err != nil {
						return fmt.Errorf("applying %s: %s: %w", f.ID, line, err)
					}
				}
				fmt.Fprintf(errw, "applied %s\n", f.ID)
			}
			return nil
		},
	}
	scope.add(cmd, "scope the findings were reviewed at")
	cmd.Flags().IntVar(&unusedDays, "unused-days", 90, "usage window the findings were reviewed with")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	return cmd
}

// confirm asks on the terminal; without one it refuses.
func confirm(cmd *cobra.Command, question string) (bool, error) {
	in := cmd.InOrStdin()
	if f, ok := in.(*os.File); !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return false, errors.New("confirmation needed and stdin is not a terminal; give --yes")
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%s [y/N] ", question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return false, err
	}
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes", nil
}

// runKeyless runs one keyless command line (a finding's fix) in a fresh
// command tree, with this invocation's connection flags, so that it goes
// through the same client code as if typed.
func runKeyless(cmd *cobra.Command, line string) error {
	args := strings.Fields(line)
	if len(args) == 0 || args[0] != "keyless" {
		return fmt.Errorf("not a keyless command: %q", line)
	}
	root := &cobra.Command{Use: "keyless", SilenceUsage: true, SilenceErrors: true}
	AddCommands(root)
	args = args[1:]
	for _, name := range []string{"credentials", "subscription"} {
		if v, _ := cmd.Flags().GetString(name); v != "" {
			args = append(args, "--"+name, v)
		}
	}
	args = append(args, "-o", "none")
	root.SetArgs(args)
	root.SetOut(io.Discard)
	root.SetErr(cmd.ErrOrStderr())
	root.SetContext(cmd.Context())
	return root.Execute()
}

func inventoryCommand() *cobra.Command {
	var scope roleScopeFlags
	cmd := &cobra.Command{
		Use:   "inventory",
		Short: "Document every identity under a scope: what it is attached to, its roles, its federated credentials, its last use",
		Long: `List every managed identity and service principal under a scope with the
resources it is attached to, its role assignments (direct or through a group),
its federated credentials and its last use per audience.

-o json (the document), md (to commit next to infrastructure code: a section
per subscription and resource group, a table per identity), csv, dot (the
identity, resource, role and scope graph for Graphviz) or html (one
self-contained page with the tables and the graph).`,
		Example: `  keyless inventory -g rg-app -o md > IDENTITIES.md
  keyless inventory --scope / -o dot | dot -Tsvg > identities.svg
  keyless inventory -o html > inventory.html`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			at, err := scope.resolve(conn.SubscriptionID(cmd))
			if err != nil {
				return err
			}
			var inv inventory.Inventory
			if err := conn.callQuery(cmd, strings.TrimSuffix(at, "/")+governanceapi.InventoryPath, &inv); err != nil {
				return err
			}
			format, _ := cmd.Flags().GetString("output")
			w := cmd.OutOrStdout()
			switch strings.ToLower(format) {
			case "md", "markdown":
				_, err = w.Write(inv.Markdown())
			case "csv":
				_, err = w.Write(inv.CSV())
			case "dot":
				_, err = w.Write(inv.DOT())
			case "html":
				_, err = w.Write(inv.HTML())
			default:
				err = Print(cmd, inv)
			}
			return err
		},
	}
	scope.add(cmd, "scope to document")
	return cmd
}
