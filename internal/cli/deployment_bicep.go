package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/keyless-io/keyless/internal/bicep"
)

// Bicep files are compiled on this machine by keyless's own compiler, as
// `keyless bicep build` compiles them (same module cache: $KEYLESS_BICEP_MODULE_CACHE,
// else ~/.keyless/bicep/modules), the way az runs `bicep build` before it
// sends anything: the server only ever sees ARM template JSON.
// Diagnostics are printed on stderr; an error stops the command, exit
// status 1, before any request is made.

// compileBicep compiles a .bicep --template-file into the template to
// send.
func compileBicep(path string, diag io.Writer) (*deploymentTemplate, error) {
	src, err := openBicepSource(path)
	if err != nil {
		return nil, fmt.Errorf("--template-file: %w", err)
	}
	res, err := bicep.Compile(src.fsys, src.path, bicepOptions(""))
	if err != nil {
		return nil, fmt.Errorf("--template-file: %w", err)
	}
	if err := src.report(diag, res.Diagnostics, src.display); err != nil {
		return nil, err
	}
	return parseTemplate(path, res.Template)
}

// compileBicepParams compiles a .bicepparam -p file: its
// deploymentParameters document, and the template its using declaration
// names (nil for `using none`).
func compileBicepParams(path string, diag io.Writer) (params []byte, template *deploymentTemplate, err error) {
	src, err := openBicepSource(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--parameters: %w", err)
	}
	res, err := bicep.CompileParams(src.fsys, src.path, bicepOptions(""))
	if err != nil {
		return nil, nil, fmt.Errorf("--parameters: %w", err)
	}
	if err := src.report(diag, res.Diagnostics, src.display); err != nil {
		return nil, nil, err
	}
	if res.Template != nil {
		if template, err = parseTemplate(path, res.Template); err != nil {
			return nil, nil, err
		}
	}
	return res.Parameters, template, nil
}

// isBicepParams says whether a -p word names a .bicepparam file, and
// which.
func isBicepParams(word string) (string, bool) {
	path := strings.TrimPrefix(word, "@")
	return path, strings.EqualFold(filepath.Ext(path), ".bicepparam")
}
