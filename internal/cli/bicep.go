package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/bicep"
)

func init() { register(func(root *cobra.Command) { root.AddCommand(bicepCommand()) }) }

// BicepModuleCacheEnv names the environment variable that sets the default
// module cache directory of the bicep commands.
const BicepModuleCacheEnv = "KEYLESS_BICEP_MODULE_CACHE"

// DefaultBicepModuleCache is where registry modules (br:, br/public:, ts:)
// resolve from when --module-cache is not given: $KEYLESS_BICEP_MODULE_CACHE,
// else ~/.keyless/bicep/modules. Layout: see docs/bicep.md.
func DefaultBicepModuleCache() string {
	if dir := os.Getenv(BicepModuleCacheEnv); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".keyless", "bicep", "modules")
}

func bicepCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bicep",
		Short: "Compile, lint and decompile Bicep files with keyless's own compiler (no server, no .NET, no network)",
		Long: `Compile, lint and decompile Bicep files, as az bicep does, with the Bicep
compiler built into keyless. These commands need no server connection.

Local modules ('./x.bicep', 'x.json') resolve against the referencing file.
Registry modules (br:, br/public:, ts:) resolve from the module cache
directory (--module-cache; default $` + BicepModuleCacheEnv + `, else
~/.keyless/bicep/modules), laid out as
  br/<registry>/<repository path>/<tag>/main.json (or main.bicep)
  ts/<subscription>/<resource group>/<name>/<version>/main.json
and otherwise fail with BCP192: keyless never downloads them.

Diagnostics go to stderr as file:line:col: severity code: message; the exit
status is 1 when the file has errors.`,
	}
	cmd.AddCommand(bicepBuildCommand(), bicepBuildParamsCommand(), bicepLintCommand(), bicepDecompileCommand())
	return cmd
}

// bicepSource is a file given on the command line, opened for the
// compiler: the file system is rooted at the file's volume so that
// modules in sibling directories ('../shared/x.bicep') resolve, and
// diagnostics name files relative to the working directory.
type bicepSource struct {
	fsys  fs.FS
	path  string // slash-separated, inside fsys
	root  string // what fsys is rooted at, in OS form
	given string // as given
}

func openBicepSource(file string) (*bicepSource, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, err
	}
	root := filepath.VolumeName(abs) + string(filepath.Separator)
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return nil, err
	}
	return &bicepSource{fsys: os.DirFS(root), path: filepath.ToSlash(rel), root: root, given: file}, nil
}

// display is a diagnostic's file relative to the working directory.
func (s *bicepSource) display(file string) string {
	p := filepath.Join(s.root, filepath.FromSlash(file))
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

// report writes the diagnostics as file:line:col: severity code: message
// and returns the error that makes the command exit 1 when one is an
// error.
func (s *bicepSource) report(w io.Writer, diags []bicep.Diagnostic, display func(string) string) error {
	for _, d := range diags {
		fmt.Fprintf(w, "%s:%d:%d: %s %s: %s\n", display(d.File), d.Line, d.Column, strings.ToLower(d.Severity), d.Code, d.Message)
	}
	if n := bicep.ErrorCount(diags); n > 0 {
		return ExitError{Code: 1, Err: fmt.Errorf("%s: %d error(s)", s.given, n)}
	}
	return nil
}

func addModuleCacheFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "module-cache", "", "module cache directory for br:, br/public: and ts: modules (default $"+BicepModuleCacheEnv+", else ~/.keyless/bicep/modules)")
}

func bicepOptions(cacheDir string) bicep.Options {
	if cacheDir == "" {
		cacheDir = DefaultBicepModuleCache()
	}
	var opts bicep.Options
	if cacheDir != "" {
		opts.ModuleCache = os.DirFS(cacheDir)
	}
	return opts
}

// bicepOutput says where a command's result goes: --stdout, --outfile,
// --outdir or, by default, next to the input with a new extension.
type bicepOutput struct {
	outfile, outdir string
	stdout          bool
}

func (o *bicepOutput) flags(cmd *cobra.Command, what string, withDir bool) {
	cmd.Flags().StringVar(&o.outfile, "outfile", "", "file to write the "+what+" to")
	if withDir {
		cmd.Flags().StringVar(&o.outdir, "outdir", "", "directory to write the "+what+" to (named after the input)")
	}
	cmd.Flags().BoolVar(&o.stdout, "stdout", false, "print the "+what+" on stdout instead of writing a file")
}

// target is the file to write for input with the new extension ext, or
// "" for stdout.
func (o *bicepOutput) target(input, ext string) (string, error) {
	set := 0
	for _, b := range []bool{o.outfile != "", o.outdir != "", o.stdout} {
		if b {
			set++
		}
	}
	if set > 1 {
		return "", errors.New("give only one of --outfile, --outdir and --stdout")
	}
	base := strings.TrimSuffix(filepath.Base(input), filepath.Ext(input)) + ext
	switch {
	case o.stdout:
		return "", nil
	case o.outfile != "":
		return o.outfile, nil
	case o.outdir != "":
		if st, err := os.Stat(o.outdir); err != nil || !st.IsDir() {
			return "", fmt.Errorf("--outdir %s: not a directory", o.outdir)
		}
		return filepath.Join(o.outdir, base), nil
	}
	return filepath.Join(filepath.Dir(input), base), nil
}

func (o *bicepOutput) write(cmd *cobra.Command, target string, data []byte) error {
	if len(data) > 0 && data[len(data)-1] != '\n' {
		data = append(data, '\n')
	}
	if target == "" {
		_, err := cmd.OutOrStdout().Write(data)
		return err
	}
	return os.WriteFile(target, data, 0o644)
}

func bicepBuildCommand() *cobra.Command {
	var (
		out      bicepOutput
		cacheDir string
		noLint   bool
	)
	cmd := &cobra.Command{
		Use:   "build FILE",
		Short: "Compile a .bicep file into an ARM template (JSON)",
		Long: `Compile a .bicep file into an ARM template. By default the template is
written next to FILE with the extension .json, as az bicep build does.
Linter findings are printed as warnings (--no-lint skips them).`,
		Example: `  keyless bicep build main.bicep
  keyless bicep build main.bicep --outdir build
  keyless bicep build main.bicep --stdout | jq .resources
  keyless bicep build main.bicep --module-cache ~/bicep-cache`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := out.target(args[0], ".json")
			if err != nil {
				return err
			}
			src, err := openBicepSource(args[0])
			if err != nil {
				return err
			}
			opts := bicepOptions(cacheDir)
			opts.NoLint = noLint
			res, err := bicep.Compile(src.fsys, src.path, opts)
			if err != nil {
				return err
			}
			if err := src.report(cmd.ErrOrStderr(), res.Diagnostics, src.display); err != nil {
				return err
			}
			return out.write(cmd, target, res.Template)
		},
	}
	out.flags(cmd, "template", true)
	addModuleCacheFlag(cmd, &cacheDir)
	cmd.Flags().BoolVar(&noLint, "no-lint", false, "skip the linter rules")
	return cmd
}

func bicepBuildParamsCommand() *cobra.Command {
	var (
		out      bicepOutput
		cacheDir string
	)
	cmd := &cobra.Command{
		Use:   "build-params FILE.bicepparam",
		Short: "Compile a .bicepparam file into a deployment parameters file (JSON)",
		Long: `Compile a .bicepparam file into a deploymentParameters JSON file, checked
against the template its using declaration names. By default the file is
written next to FILE with the extension .json.`,
		Example: `  keyless bicep build-params main.bicepparam
  keyless bicep build-params main.bicepparam --outfile main.parameters.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := out.target(args[0], ".json")
			if err != nil {
				return err
			}
			src, err := openBicepSource(args[0])
			if err != nil {
				return err
			}
			res, err := bicep.CompileParams(src.fsys, src.path, bicepOptions(cacheDir))
			if err != nil {
				return err
			}
			if err := src.report(cmd.ErrOrStderr(), res.Diagnostics, src.display); err != nil {
				return err
			}
			return out.write(cmd, target, res.Parameters)
		},
	}
	out.flags(cmd, "parameters file", false)
	addModuleCacheFlag(cmd, &cacheDir)
	return cmd
}

func bicepLintCommand() *cobra.Command {
	var cacheDir string
	cmd := &cobra.Command{
		Use:   "lint FILE",
		Short: "Print a .bicep or .bicepparam file's diagnostics, linter rules included",
		Long: `Print the diagnostics of a .bicep (or .bicepparam) file, errors and
warnings, as file:line:col: severity code: message. The code is Bicep's own
BCP code, or the linter rule's name where the check is the same one. The exit
status is 1 when there are errors, 0 when there are only warnings.`,
		Example: `  keyless bicep lint main.bicep`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := openBicepSource(args[0])
			if err != nil {
				return err
			}
			var diags []bicep.Diagnostic
			if strings.EqualFold(filepath.Ext(args[0]), ".bicepparam") {
				res, err := bicep.CompileParams(src.fsys, src.path, bicepOptions(cacheDir))
				if err != nil {
					return err
				}
				diags = res.Diagnostics
			} else if diags, err = bicep.Lint(src.fsys, src.path, bicepOptions(cacheDir)); err != nil {
				return err
			}
			return src.report(cmd.ErrOrStderr(), diags, src.display)
		},
	}
	addModuleCacheFlag(cmd, &cacheDir)
	return cmd
}

func bicepDecompileCommand() *cobra.Command {
	var (
		out   bicepOutput
		force bool
	)
	cmd := &cobra.Command{
		Use:   "decompile FILE.json",
		Short: "Turn an ARM template (JSON) into Bicep",
		Long: `Turn an ARM template into Bicep, for moving from JSON. By default the
Bicep is written next to FILE with the extension .bicep; a nested deployment
with an inline template becomes a module written beside it (with --stdout
only the main file is printed). Warnings name what could not be decompiled
faithfully. Existing files are not overwritten without --force.`,
		Example: `  keyless bicep decompile azuredeploy.json
  keyless bicep decompile azuredeploy.json --stdout`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := out.target(args[0], ".bicep")
			if err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			main := filepath.Base(target)
			if target == "" {
				main = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0])) + ".bicep"
			}
			res, err := bicep.DecompileFiles(data, main)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			dir := filepath.Dir(target)
			display := func(f string) string {
				if target == "" {
					return f
				}
				return filepath.Join(dir, filepath.FromSlash(f))
			}
			src := &bicepSource{given: args[0]}
			if target == "" {
				_, diags, _ := bicep.Decompile(data)
				if err := src.report(cmd.ErrOrStderr(), diags, display); err != nil {
					return err
				}
				return out.write(cmd, "", res.Files[main])
			}
			names := make([]string, 0, len(res.Files))
			for name := range res.Files {
				names = append(names, name)
			}
			sort.Strings(names)
			if !force {
				for _, name := range names {
					if _, err := os.Stat(display(name)); err == nil {
						return fmt.Errorf("%s exists; give --force to overwrite it", display(name))
					}
				}
			}
			if err := src.report(cmd.ErrOrStderr(), res.Diagnostics, display); err != nil {
				return err
			}
			for _, name := range names {
				if err := out.write(cmd, display(name), res.Files[name]); err != nil {
					return err
				}
			}
			return nil
		},
	}
	out.flags(cmd, "Bicep", false)
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing .bicep files")
	return cmd
}
