package e2e

import (
	"context"
	"encoding/base64"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/keyless-io/keyless/internal/testenv"
)

// BenchmarkKeyVaultGetSecret measures secret reads through azsecrets
// against a real server on loopback (SQLite store): each read is an HTTPS
// round trip, token verification (cached), an RBAC decision, a store read
// and an AES-GCM open. Client and server share this process, so cpu-µs/read
// is both sides together; on a shared, loaded machine it is the number to
// compare, reads/s the one to quote. Sequential runs one client; parallel
// as many as GOMAXPROCS.
func BenchmarkKeyVaultGetSecret(b *testing.B) {
	env := testenv.Start(b, testenv.Options{})
	ctx := context.Background()
	ensureGroup(b, env, "rg-bench")
	vaultID, vaultURI := createVault(b, env, "rg-bench", "kv-bench", nil)
	reader := newRBACPrincipal(b, env, "bench-reader")
	grant(b, env, vaultID, roleKeyVaultSecretsOfficer, reader.ObjectID)
	c := secretsClient(b, env, vaultURI, reader.Cred)
	// A certificate-sized value: 2 KiB of base64, as a PEM body is.
	value := base64.StdEncoding.EncodeToString(make([]byte, 1536))
	if _, err := c.SetSecret(ctx, "gateway-cert", azsecrets.SetSecretParameters{Value: to.Ptr(value)}, nil); err != nil {
		b.Fatal(err)
	}
	// Warm the client's token and connection.
	if _, err := c.GetSecret(ctx, "gateway-cert", "", nil); err != nil {
		b.Fatal(err)
	}
	report := func(b *testing.B, cpu time.Duration) {
		b.ReportMetric(float64((kvProcessCPU()-cpu).Microseconds())/float64(b.N), "cpu-µs/read")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reads/s")
	}
	b.Run("sequential", func(b *testing.B) {
		cpu := kvProcessCPU()
		for b.Loop() {
			if _, err := c.GetSecret(ctx, "gateway-cert", "", nil); err != nil {
				b.Fatal(err)
			}
		}
		report(b, cpu)
	})
	b.Run("parallel", func(b *testing.B) {
		cpu := kvProcessCPU()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.GetSecret(ctx, "gateway-cert", "", nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
		report(b, cpu)
	})
}

func kvProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
