package cli

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/keyless-io/keyless/internal/directoryapi"
	"github.com/keyless-io/keyless/internal/pki"
)

func init() { register(addServicePrincipal) }

const spPath = "/providers/Keyless.Directory/servicePrincipals"

// spSummary is what `sp create` prints, in the shape of
// `az ad sp create-for-rbac`: the password appears once.
type spSummary struct {
	AppID       string `json:"appId"`
	DisplayName string `json:"displayName"`
	ObjectID    string `json:"objectId"`
	Tenant      string `json:"tenant"`
	Password    string `json:"password,omitempty"`
}

func summary(sp directoryapi.ServicePrincipal) spSummary {
	p := sp.Properties
	return spSummary{AppID: p.AppID, DisplayName: p.DisplayName, ObjectID: p.ObjectID, Tenant: p.Tenant, Password: p.Password}
}

func addServicePrincipal(root *cobra.Command) {
	sp := &cobra.Command{Use: "sp", Short: "Manage service principals (identities for automation outside keyless)"}

	var name, certFile string
	var years int
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a service principal with a generated secret or a certificate; grants no role",
		Long: `Create a service principal. Without --cert-file a secret is generated and
printed once, as "password"; keyless keeps only a keyed hash of it. With
--cert-file (PEM, one or more CERTIFICATE blocks, public part only) the
principal authenticates with a client assertion signed by that certificate.
No role is granted: use 'keyless role assignment create'.`,
		Example: `  keyless sp create --name ci-deployer
  keyless sp create --name backup-job --cert-file job.crt -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := map[string]any{"displayName": name}
			if years > 0 {
				body["secretLifetimeDays"] = years * 365
			}
			if certFile != "" {
				pemBytes, err := os.ReadFile(certFile)
				if err != nil {
					return err
				}
				certs, err := pki.ParseCertificatesPEM(pemBytes)
				if err != nil {
					return fmt.Errorf("%s: %w", certFile, err)
				}
				var der []string
				for _, c := range certs {
					der = append(der, base64.StdEncoding.EncodeToString(c.Raw))
				}
				body["certificates"] = der
			}
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out directoryapi.ServicePrincipal
			if err := conn.call(cmd.Context(), http.MethodPost, spPath, directoryapi.APIVersion, body, &out, http.StatusCreated); err != nil {
				return err
			}
			return Print(cmd, summary(out))
		},
	}
	create.Flags().StringVarP(&name, "name", "n", "", "display name")
	create.Flags().StringVar(&certFile, "cert-file", "", "PEM file with the public certificate(s) to authenticate with")
	create.Flags().IntVar(&years, "years", 0, "secret lifetime in years (default 2)")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use: "list", Short: "List service principals", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out struct {
				Value []directoryapi.ServicePrincipal `json:"value"`
			}
			if err := conn.call(cmd.Context(), http.MethodGet, spPath, directoryapi.APIVersion, nil, &out); err != nil {
				return err
			}
			res := make([]spSummary, 0, len(out.Value))
			for _, s := range out.Value {
				res = append(res, summary(s))
			}
			return Print(cmd, res)
		},
	}

	var id string
	show := &cobra.Command{
		Use: "show", Short: "Show a service principal, its credentials (never their secrets) and when it was last used", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out directoryapi.ServicePrincipal
			if err := conn.call(cmd.Context(), http.MethodGet, spPath+"/"+id, directoryapi.APIVersion, nil, &out); err != nil {
				return err
			}
			// A service principal lives in the directory, not under a
			// resource: its usage is read at the root.
			used, ok, err := conn.lastUsedOf(cmd.Context(), "/", out.Properties.ObjectID)
			if err != nil {
				return err
			}
			if !ok {
				return Print(cmd, out)
			}
			doc, err := withLastUsed(out, false, used)
			if err != nil {
				return err
			}
			return Print(cmd, doc)
		},
	}
	del := &cobra.Command{
		Use: "delete", Short: "Delete a service principal and its role assignments; it gets no new token from then on", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			return conn.call(cmd.Context(), http.MethodDelete, spPath+"/"+id, directoryapi.APIVersion, nil, nil, http.StatusOK, http.StatusNoContent)
		},
	}
	reset := &cobra.Command{
		Use: "reset", Short: "Add a new generated secret (printed once); existing secrets stay valid until they expire", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out directoryapi.ServicePrincipal
			if err := conn.call(cmd.Context(), http.MethodPost, spPath+"/"+id+"/addPassword", directoryapi.APIVersion, map[string]any{}, &out); err != nil {
				return err
			}
			return Print(cmd, summary(out))
		},
	}
	for _, c := range []*cobra.Command{show, del, reset} {
		c.Flags().StringVar(&id, "id", "", "object ID of the service principal")
		_ = c.MarkFlagRequired("id")
	}
	credential := &cobra.Command{Use: "credential", Short: "Manage a service principal's secrets"}
	credential.AddCommand(reset)
	sp.AddCommand(create, list, show, del, credential)

	keys := &cobra.Command{Use: "keys", Short: "Manage the token-signing keys"}
	keys.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key sign from now on; the old one stays published until its tokens expire",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conn, err := Connect(cmd)
			if err != nil {
				return err
			}
			var out map[string]string
			if err := conn.call(cmd.Context(), http.MethodPost, "/providers/Keyless.Security/signingKeys/rotate", directoryapi.APIVersion, map[string]any{}, &out); err != nil {
				return err
			}
			return Print(cmd, out)
		},
	})
	root.AddCommand(sp, keys)
}
