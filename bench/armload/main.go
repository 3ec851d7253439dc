// Command armload measures the ARM control plane end to end: user-assigned
// identity creates (PUT over HTTPS with a real bearer token, through the
// official armmsi client) and, with -reads, GET and list latency once the
// store holds many identities. It talks to loopback servers only.
//
//	armload -credentials keyless-data/admin-credentials.json -c 16 -n 20000
//	armload -credentials ... -n 0 -reads 20000 -lists 2000 -rg bench-rg -server-pid $(pgrep -f "keyless server")
//
// Replicas sharing one PostgreSQL database: -endpoints spreads the creates
// round-robin over several ARM endpoints (the token still comes from the
// credentials' authority), and -server-pid takes a comma-separated list.
//
//	armload -credentials ... -endpoints https://127.0.0.1:9443,https://127.0.0.1:9444 -server-pid 123,456
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources/v3"
)

type creds struct {
	TenantID, SubscriptionID, ClientID, ClientSecret, AuthorityHost, ResourceManagerEndpoint, ResourceManagerAudience, CACertificateFile string
}

func main() {
	credFile := flag.String("credentials", "keyless-data/admin-credentials.json", "admin-credentials.json of the server")
	conc := flag.Int("c", 16, "concurrent workers")
	n := flag.Int("n", 10000, "identities to create (0: none)")
	rg := flag.String("rg", "armload", "resource group to create them in")
	reads := flag.Int("reads", 0, "after creating, measure this many GETs")
	lists := flag.Int("lists", 0, "after creating, measure this many first pages of the group's list (100 items)")
	serverPIDs := flag.String("server-pid", "", "report the servers' CPU time per operation (Linux /proc); comma-separated PIDs")
	scatter := flag.Bool("scatter", false, "prefix each name with a hash of its number, so that names created together do not sort next to each other")
	endpoints := flag.String("endpoints", "", "comma-separated ARM endpoints to spread creates over (default: the credentials' resourceManagerEndpoint)")
	flag.Parse()
	cpu := func() float64 {
		total := 0.0
		for _, p := range strings.Split(*serverPIDs, ",") {
			var pid int
			fmt.Sscan(p, &pid)
			total += processCPU(pid)
		}
		return total
	}

	b, err := os.ReadFile(*credFile)
	check(err)
	var c creds
	check(json.Unmarshal(b, &c))
	arms := []string{c.ResourceManagerEndpoint}
	if *endpoints != "" {
		arms = strings.Split(*endpoints, ",")
	}
	for _, e := range append([]string{c.AuthorityHost}, arms...) {
		u, err := url.Parse(e)
		check(err)
		if ip := net.ParseIP(u.Hostname()); (ip == nil || !ip.IsLoopback()) && u.Hostname() != "localhost" {
			fmt.Fprintln(os.Stderr, "armload: refusing a non-loopback server", u.Host)
			os.Exit(2)
		}
	}
	pem, err := os.ReadFile(c.CACertificateFile)
	check(err)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	transport := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: *conc * 2}
	opts := policy.ClientOptions{Transport: &http.Client{Transport: transport}, Cloud: cloud.Configuration{
		ActiveDirectoryAuthorityHost: c.AuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {
			Endpoint: c.ResourceManagerEndpoint, Audience: strings.TrimRight(c.ResourceManagerAudience, "/")}},
	}}
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	check(err)
	armOpts := &arm.ClientOptions{ClientOptions: opts}
	ctx := context.Background()
	groups, err := armresources.NewResourceGroupsClient(c.SubscriptionID, cred, armOpts)
	check(err)
	_, err = groups.CreateOrUpdate(ctx, *rg, armresources.ResourceGroup{Location: to.Ptr("westus")}, nil)
	check(err)
	client, err := armmsi.NewUserAssignedIdentitiesClient(c.SubscriptionID, cred, armOpts)
	check(err)
	// One client per endpoint, all with the one credential.
	var creators []*armmsi.UserAssignedIdentitiesClient
	for _, e := range arms {
		o := *armOpts
		o.Cloud = cloud.Configuration{
			ActiveDirectoryAuthorityHost: c.AuthorityHost,
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {
				Endpoint: e, Audience: strings.TrimRight(c.ResourceManagerAudience, "/")}},
		}
		cl, err := armmsi.NewUserAssignedIdentitiesClient(c.SubscriptionID, cred, &o)
		check(err)
		creators = append(creators, cl)
	}

	if *n > 0 {
		c0 := cpu()
		prefix := fmt.Sprintf("id-%d-", time.Now().UnixNano())
		var next atomic.Int64
		lat := run(*conc, func() (bool, error) {
			i := next.Add(1)
			if i > int64(*n) {
				return false, nil
			}
			cl := creators[int(i)%len(creators)]
			name := fmt.Sprintf("%s%d", prefix, i)
			if *scatter {
				// Neighbouring keys share index pages, which PostgreSQL's
				// SERIALIZABLE tracks reads by (docs/performance.md).
				name = fmt.Sprintf("%x-%s", (uint64(i)*0x9E3779B97F4A7C15)>>40, name)
			}
			_, err := cl.CreateOrUpdate(ctx, *rg, name, armmsi.Identity{Location: to.Ptr("westus")}, nil)
			return true, err
		})
		report("create (PUT userAssignedIdentities)", lat, cpu()-c0)
	}
	if *reads > 0 || *lists > 0 {
		var names []string
		pager := client.NewListByResourceGroupPager(*rg, nil)
		page, err := pager.NextPage(ctx)
		check(err)
		for _, id := range page.Value {
			names = append(names, *id.Name)
		}
		var next atomic.Int64
		if *reads > 0 {
			c0 := cpu()
			lat := run(*conc, func() (bool, error) {
				i := next.Add(1)
				if i > int64(*reads) {
					return false, nil
				}
				_, err := client.Get(ctx, *rg, names[int(i)%len(names)], nil)
				return true, err
			})
			report("get (GET userAssignedIdentities/{name})", lat, cpu()-c0)
		}
		if *lists > 0 {
			next.Store(0)
			c0 := cpu()
			lat := run(*conc, func() (bool, error) {
				i := next.Add(1)
				if i > int64(*lists) {
					return false, nil
				}
				p := client.NewListByResourceGroupPager(*rg, nil)
				_, err := p.NextPage(ctx)
				return true, err
			})
			report("list first page (100 items, RG scope)", lat, cpu()-c0)
		}
	}
}

type latencies struct {
	d       []time.Duration
	errs    int
	elapsed time.Duration
}

func run(conc int, op func() (bool, error)) latencies {
	var mu sync.Mutex
	var all latencies
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			errs := 0
			for {
				t := time.Now()
				more, err := op()
				if !more {
					break
				}
				if err != nil {
					errs++
					if errs == 1 {
						fmt.Fprintln(os.Stderr, "armload:", err)
					}
					continue
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			all.d = append(all.d, local...)
			all.errs += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	return all
}

// processCPU is the user+system CPU seconds of a process (0 without one).
func processCPU(pid int) float64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	var utime, stime float64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return (utime + stime) / 100 // USER_HZ
}

func report(what string, l latencies, serverCPU float64) {
	slices.Sort(l.d)
	q := func(p float64) time.Duration {
		if len(l.d) == 0 {
			return 0
		}
		return l.d[min(len(l.d)-1, int(p*float64(len(l.d))))]
	}
	fmt.Printf("%-42s ok=%d errors=%d  %.0f/s  p50=%s p90=%s p99=%s", what, len(l.d), l.errs,
		float64(len(l.d))/l.elapsed.Seconds(), q(.50).Round(10*time.Microsecond), q(.90).Round(10*time.Microsecond), q(.99).Round(10*time.Microsecond))
	if serverCPU > 0 && len(l.d) > 0 {
		fmt.Printf("  server %.2f cores, %.2f ms CPU/op", serverCPU/l.elapsed.Seconds(), serverCPU*1000/float64(len(l.d)))
	}
	fmt.Println()
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "armload:", err)
		os.Exit(1)
	}
}
