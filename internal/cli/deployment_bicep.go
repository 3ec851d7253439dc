package cli

import "fmt"

// compileBicep turns a .bicep file into the template to send. keyless's
// Bicep compiler (internal/bicep) is not part of this build yet, and
// nothing else may stand in for it: the Bicep CLI would be a second
// compiler whose output keyless has not checked, and a hand-made
// translation would deploy something the file did not say.
func compileBicep(path string) (*deploymentTemplate, error) {
	return nil, fmt.Errorf("--template-file %s: Bicep support arrives with keyless's Bicep compiler, which this build does not have yet; compile the file to an ARM template (bicep build %s) and deploy the .json", path, path)
}
