// kvreader is the workload of the Key Vault end-to-end test: an ordinary
// Azure program with no keyless code in it. It authenticates with
// ManagedIdentityCredential (the App Service variables `keyless run`
// injects), reads secrets with azsecrets' default options, trusts the
// server through SSL_CERT_FILE, and answers one line per "get NAME" line
// on stdin: `ok "value"` or `err STATUS CODE "message"`.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
)

func main() {
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		fmt.Println("err 0 credential", strconv.Quote(err.Error()))
		os.Exit(1)
	}
	client, err := azsecrets.NewClient(os.Getenv("VAULT_URI"), cred, nil)
	if err != nil {
		fmt.Println("err 0 client", strconv.Quote(err.Error()))
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		name, ok := strings.CutPrefix(in.Text(), "get ")
		if !ok {
			continue
		}
		resp, err := client.GetSecret(context.Background(), name, "", nil)
		var re *azcore.ResponseError
		switch {
		case errors.As(err, &re):
			fmt.Println("err", re.StatusCode, re.ErrorCode, strconv.Quote(err.Error()))
		case err != nil:
			fmt.Println("err 0 transport", strconv.Quote(err.Error()))
		default:
			fmt.Println("ok", strconv.Quote(*resp.Value))
		}
	}
}
