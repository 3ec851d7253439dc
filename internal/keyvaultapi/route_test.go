package keyvaultapi

import (
	"net/http"
	"strings"
	"testing"
)

func TestRouteMapsEverySDKPathToItsDataAction(t *testing.T) {
	for _, tc := range []struct {
		method, path  string
		op, action    string
		name, version string
	}{
		{"PUT", "secrets/db", "SetSecret", ActionSetSecret, "db", ""},
		{"GET", "secrets/db/", "GetSecret", ActionGetSecret, "db", ""},
		{"GET", "secrets/db/0123abcd", "GetSecret", ActionGetSecret, "db", "0123abcd"},
		{"PATCH", "secrets/db/0123abcd", "UpdateSecret", ActionUpdate, "db", "0123abcd"},
		{"PATCH", "secrets/db/", "UpdateSecret", ActionUpdate, "db", ""},
		{"GET", "secrets", "GetSecrets", ActionReadMetadata, "", ""},
		{"GET", "secrets/db/versions", "GetSecretVersions", ActionReadMetadata, "db", ""},
		{"DELETE", "secrets/db", "DeleteSecret", ActionDelete, "db", ""},
		{"GET", "deletedsecrets", "GetDeletedSecrets", ActionReadMetadata, "", ""},
		{"GET", "deletedsecrets/db", "GetDeletedSecret", ActionReadMetadata, "db", ""},
		{"DELETE", "deletedsecrets/db", "PurgeDeletedSecret", ActionPurge, "db", ""},
		{"POST", "deletedsecrets/db/recover", "RecoverDeletedSecret", ActionRecover, "db", ""},
		{"POST", "secrets/db/backup", "BackupSecret", ActionBackup, "db", ""},
		{"POST", "secrets/restore", "RestoreSecret", ActionRestore, "", ""},
		{"POST", "secrets/db", "", "", "", ""},
		{"GET", "keys/k1", "", "", "", ""},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req := &request{}
			fn := (&Handler{}).route(tc.method, splitPath(tc.path), req)
			if (fn == nil) != (tc.op == "") || req.op != tc.op || req.action != tc.action {
				t.Fatalf("op %q action %q, want %q %q", req.op, req.action, tc.op, tc.action)
			}
			if tc.op != "" && (req.name != tc.name || req.version != tc.version) {
				t.Fatalf("name %q version %q", req.name, req.version)
			}
		})
	}
}

// FuzzRoute: any method and path either matches no operation or one with
// a data action, and a matched secret name is what the path named.
func FuzzRoute(f *testing.F) {
	for _, p := range []string{"secrets/db", "secrets/db/v1", "deletedsecrets/x/recover", "secrets/restore", "secrets/%2e%2e/x", "secrets//", ""} {
		f.Add("GET", p)
		f.Add("POST", p)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		req := &request{}
		fn := (&Handler{}).route(method, splitPath(path), req)
		if fn == nil {
			return
		}
		if req.action == "" || req.op == "" {
			t.Fatalf("%s %s: matched without a data action", method, path)
		}
		if !strings.HasPrefix(req.action, "Microsoft.KeyVault/vaults/secrets/") {
			t.Fatalf("action %s", req.action)
		}
		if method != http.MethodGet && method != http.MethodPut && method != http.MethodPatch && method != http.MethodDelete && method != http.MethodPost {
			t.Fatalf("matched method %q", method)
		}
	})
}
