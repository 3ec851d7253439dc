// Command scale measures keyless at a size: it seeds a store with n
// user-assigned identities and m role assignments (through the store calls
// the ARM handlers make), starts the unchanged server on it, and reports
// the time to live and to ready, the resident memory after start and under
// load, and the rates of token grants, ARM GETs (each one authorization
// check) and subscription-wide list pages with their latency and the
// server's CPU time per request. Traffic goes to loopback only.
//
//	go build -o /tmp/keyless ./cmd/keyless
//	go run ./bench/scale -keyless /tmp/keyless -data-dir /tmp/scale -identities 1000000 -assignments 5000000
//	go run ./bench/scale ... -store 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=scale'
//
// The seed is kept in the data directory (scale-seed.json marks it done),
// so later runs only restart and measure; -reseed starts again. The first
// start reads the whole store and the server writes its index snapshots
// beside the seed; later starts load those (the report's IndexesFrom says
// which; -server-arg=--index-snapshots=false measures a full load again).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"

	"github.com/keyless-io/keyless/internal/bootstrap"
	"github.com/keyless-io/keyless/internal/store"
	"github.com/keyless-io/keyless/internal/store/sqlstore"
)

type options struct {
	keyless, dataDir, dsn, listen string
	// serverArgs are passed to the server as they are (-server-arg,
	// repeatable), e.g. --debug-listen=127.0.0.1:6060 to profile it.
	serverArgs              stringList
	identities, assignments int
	duration                time.Duration
	conc                    int
	reseed                  bool
	profile, cpuProfile     string
	fromSnapshot            bool
}

func main() {
	var o options
	flag.StringVar(&o.keyless, "keyless", "keyless", "the keyless binary to run")
	flag.StringVar(&o.dataDir, "data-dir", "/tmp/keyless-scale", "data directory of the measured server (created)")
	flag.StringVar(&o.dsn, "store", "", "PostgreSQL connection string (empty: the embedded SQLite store); its schema must exist")
	flag.StringVar(&o.listen, "listen", "127.0.0.1:9643", "loopback address the server listens on")
	flag.IntVar(&o.identities, "identities", 1_000_000, "user-assigned identities to seed")
	flag.IntVar(&o.assignments, "assignments", 5_000_000, "role assignments to seed (at most 5 per identity)")
	flag.DurationVar(&o.duration, "duration", 15*time.Second, "length of each load phase")
	flag.IntVar(&o.conc, "c", 8, "concurrent clients per load phase")
	flag.BoolVar(&o.reseed, "reseed", false, "delete the data directory and seed again")
	flag.StringVar(&o.profile, "heap-profile", "", "instead of starting the server, load its indexes from the seeded store in this process and write a heap profile here")
	flag.Var(&o.serverArgs, "server-arg", "an argument for the server, e.g. --debug-listen=127.0.0.1:6060 (repeatable)")
	flag.BoolVar(&o.fromSnapshot, "from-snapshot", false, "with -heap-profile, load from the index snapshots the server left in the data directory instead of from the store")
	flag.StringVar(&o.cpuProfile, "cpu-profile", "", "with -heap-profile, also write a CPU profile of the load here")
	flag.Parse()
	if !strings.HasPrefix(o.listen, "127.0.0.1:") && !strings.HasPrefix(o.listen, "localhost:") {
		log.Fatal("scale: -listen must be a loopback address")
	}
	if o.profile != "" {
		if err := profileLoad(context.Background(), o, o.profile); err != nil {
			log.Fatal("scale: ", err)
		}
		return
	}
	if err := run(context.Background(), o); err != nil {
		log.Fatal("scale: ", err)
	}
}

type seedMark struct {
	Identities, Assignments int
	Seconds                 float64
}

func run(ctx context.Context, o options) error {
	if o.reseed {
		if err := os.RemoveAll(o.dataDir); err != nil {
			return err
		}
	}
	markPath := filepath.Join(o.dataDir, "scale-seed.json")
	var mark seedMark
	if b, err := os.ReadFile(markPath); err == nil {
		if err := json.Unmarshal(b, &mark); err != nil {
			return err
		}
		if mark.Identities != o.identities || mark.Assignments != o.assignments {
			return fmt.Errorf("%s holds a seed of %d identities and %d assignments; use -reseed", o.dataDir, mark.Identities, mark.Assignments)
		}
		log.Printf("reusing the seed in %s (%d identities, %d assignments)", o.dataDir, mark.Identities, mark.Assignments)
	} else {
		// The first start creates the installation; the seed goes into its
		// store while no server runs.
		srv, err := start(o, io.Discard)
		if err != nil {
			return err
		}
		if _, _, err := srv.waitReady(2 * time.Minute); err != nil {
			return err
		}
		if err := srv.stop(); err != nil {
			return err
		}
		c, err := readCreds(o.dataDir)
		if err != nil {
			return err
		}
		st, err := openStore(ctx, o)
		if err != nil {
			return err
		}
		began := time.Now()
		if err := seed(ctx, st, c.SubscriptionID, o.identities, o.assignments); err != nil {
			st.Close()
			return err
		}
		if err := st.Close(); err != nil {
			return err
		}
		mark = seedMark{o.identities, o.assignments, time.Since(began).Seconds()}
		b, _ := json.Marshal(mark)
		if err := os.WriteFile(markPath, b, 0o600); err != nil {
			return err
		}
		log.Printf("seeded in %.0f s", mark.Seconds)
	}

	logFile, err := os.Create(filepath.Join(o.dataDir, "scale-server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	srv, err := start(o, logFile)
	if err != nil {
		return err
	}
	defer srv.stop()
	live, ready, err := srv.waitReady(10 * time.Minute)
	if err != nil {
		return err
	}
	r := report{Identities: o.identities, Assignments: o.assignments, Store: storeName(o),
		LiveSeconds: live.Seconds(), ReadySeconds: ready.Seconds()}
	r.IndexesFrom = indexSource(logFile.Name())
	time.Sleep(2 * time.Second)
	r.RSSAfterStartMiB, r.PeakRSSAfterStartMiB = rss(srv.cmd.Process.Pid)

	c, err := readCreds(o.dataDir)
	if err != nil {
		return err
	}
	cl, err := newClients(c, o.conc)
	if err != nil {
		return err
	}
	pid := srv.cmd.Process.Pid
	r.Tokens = phase("token grants", pid, o.duration, o.conc, func(context.Context) error { return cl.grant() })
	r.Gets = phase("identity GETs", pid, o.duration, o.conc*2, func(ctx context.Context) error {
		i := rand.N(o.identities)
		_, err := cl.identities.Get(ctx, groupName(i), identityName(i), nil)
		return err
	})
	r.Lists = phase("subscription-wide list, first page", pid, o.duration, max(o.conc/2, 1), func(ctx context.Context) error {
		p := cl.identities.NewListBySubscriptionPager(nil)
		_, err := p.NextPage(ctx)
		return err
	})
	r.RSSUnderLoadMiB, r.PeakRSSMiB = rss(srv.cmd.Process.Pid)
	r.GCPauseMaxMs, r.GCCycles, r.HeapInUseMiB = cl.gcStats()
	b, _ := json.MarshalIndent(r, "", "  ")
	fmt.Println(string(b))
	return nil
}

func storeName(o options) string {
	if o.dsn == "" {
		return "sqlite"
	}
	return "postgres"
}

func openStore(ctx context.Context, o options) (store.Store, error) {
	if o.dsn == "" {
		return sqlstore.OpenSQLite(ctx, filepath.Join(o.dataDir, bootstrap.SQLiteFile))
	}
	return sqlstore.OpenPostgres(ctx, o.dsn)
}

type server struct {
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	began   time.Time
	baseURL string
	client  *http.Client
}

func start(o options, logs io.Writer) (*server, error) {
	args := []string{"server", "--data-dir", o.dataDir, "--listen", o.listen}
	if o.dsn != "" {
		args = append(args, "--store", o.dsn)
	}
	args = append(args, o.serverArgs...)
	cmd := exec.Command(o.keyless, args...)
	cmd.Stdout, cmd.Stderr = logs, logs
	s := &server{cmd: cmd, began: time.Now(), baseURL: "https://" + o.listen,
		// Health is polled before the CA can be read on a first start.
		client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s.done = make(chan struct{})
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	return s, nil
}

// waitReady polls /healthz/live and /healthz/ready and returns when each
// first answered 200, measured from the process start.
func (s *server) waitReady(limit time.Duration) (live, ready time.Duration, err error) {
	for time.Since(s.began) < limit {
		select {
		case <-s.done:
			return 0, 0, fmt.Errorf("server exited: %v", s.waitErr)
		default:
		}
		if live == 0 && s.ok("/healthz/live") {
			live = time.Since(s.began)
		}
		if s.ok("/healthz/ready") {
			if live == 0 {
				live = time.Since(s.began)
			}
			return live, time.Since(s.began), nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return 0, 0, fmt.Errorf("not ready after %s", limit)
}

func (s *server) ok(path string) bool {
	resp, err := s.client.Get(s.baseURL + path)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (s *server) stop() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	return s.waitErr
}

// rss reads the resident set and its peak in MiB.
func rss(pid int) (now, peak float64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		switch k {
		case "VmRSS":
			now = kb / 1024
		case "VmHWM":
			peak = kb / 1024
		}
	}
	return now, peak
}

type creds struct {
	TenantID, SubscriptionID, ClientID, ClientSecret, AuthorityHost, ResourceManagerEndpoint, ResourceManagerAudience, CACertificateFile string
}

func readCreds(dir string) (creds, error) {
	var c creds
	b, err := os.ReadFile(filepath.Join(dir, "admin-credentials.json"))
	if err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c)
}

type clients struct {
	c          creds
	http       *http.Client
	identities *armmsi.UserAssignedIdentitiesClient
}

func newClients(c creds, conc int) (*clients, error) {
	u, err := url.Parse(c.ResourceManagerEndpoint)
	if err != nil {
		return nil, err
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" {
		return nil, fmt.Errorf("refusing the non-loopback server %s", u.Host)
	}
	pem, err := os.ReadFile(c.CACertificateFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4 * conc}}
	opts := policy.ClientOptions{Transport: hc, Cloud: cloud.Configuration{
		ActiveDirectoryAuthorityHost: c.AuthorityHost,
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{cloud.ResourceManager: {
			Endpoint: c.ResourceManagerEndpoint, Audience: strings.TrimRight(c.ResourceManagerAudience, "/")}},
	}}
	cred, err := azidentity.NewClientSecretCredential(c.TenantID, c.ClientID, c.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		return nil, err
	}
	ids, err := armmsi.NewUserAssignedIdentitiesClient(c.SubscriptionID, cred, &arm.ClientOptions{ClientOptions: opts})
	if err != nil {
		return nil, err
	}
	return &clients{c: c, http: hc, identities: ids}, nil
}

// grant asks for one uncached client-credentials token, as a workload
// without a token cache would.
func (c *clients) grant() error {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.c.ClientID},
		"client_secret": {c.c.ClientSecret}, "scope": {strings.TrimRight(c.c.ResourceManagerAudience, "/") + "/.default"}}
	resp, err := c.http.PostForm(strings.TrimRight(c.c.AuthorityHost, "/")+"/"+c.c.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token: %s", resp.Status)
	}
	return nil
}

// gcStats reads the server's Go runtime metrics: the longest
// stop-the-world pause seen, the GC cycles so far and the heap in use.
func (c *clients) gcStats() (pauseMaxMs, cycles, heapMiB float64) {
	resp, err := c.http.Get(strings.TrimRight(c.c.ResourceManagerEndpoint, "/") + "/metrics")
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case `go_gc_duration_seconds{quantile="1"}`:
			pauseMaxMs = v * 1000
		case "go_gc_duration_seconds_count":
			cycles = v
		case "go_memstats_heap_inuse_bytes":
			heapMiB = v / (1 << 20)
		}
	}
	return
}

// indexSource reads from the server's log where its indexes came from.
func indexSource(logPath string) string {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return ""
	}
	switch {
	case strings.Contains(string(b), "fromSnapshot=true"):
		return "snapshot"
	case strings.Contains(string(b), "fromSnapshot=false"):
		return "store"
	}
	return ""
}

type report struct {
	Store                   string
	Identities, Assignments int
	LiveSeconds             float64
	ReadySeconds            float64
	// IndexesFrom is "snapshot" when the server started from the index
	// snapshots in its data directory, "store" when it read the store.
	IndexesFrom          string
	RSSAfterStartMiB     float64
	PeakRSSAfterStartMiB float64
	RSSUnderLoadMiB      float64
	PeakRSSMiB           float64
	HeapInUseMiB         float64
	GCPauseMaxMs         float64
	GCCycles             float64
	Tokens, Gets, Lists  rate
}

type rate struct {
	PerSecond        float64
	P50Ms, P99Ms     float64
	MaxMs            float64
	Errors, Requests int
	// ServerCPUPerOpUs is the server's CPU time (user and system, from
	// /proc) over the phase divided by its requests: steadier than the
	// rate on a shared machine, where the client and other load take
	// cores from the server by the run.
	ServerCPUPerOpUs float64
}

// cpuSeconds is the CPU time the process has used, user and system.
func cpuSeconds(pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after it. utime and stime are fields 14 and 15, in USER_HZ (100/s
	// on Linux's user-space ABI).
	rest := string(raw[strings.LastIndexByte(string(raw), ')')+1:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100
}

// phase runs op from conc workers for d and summarises the latencies and
// the CPU the server (pid) spent per request.
func phase(name string, pid int, d time.Duration, conc int, op func(context.Context) error) rate {
	cpu0 := cpuSeconds(pid)
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var (
		mu   sync.Mutex
		lat  []time.Duration
		errs int
		wg   sync.WaitGroup
	)
	began := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t := time.Now()
				err := op(ctx)
				el := time.Since(t)
				mu.Lock()
				if err != nil && ctx.Err() == nil {
					if errs == 0 {
						log.Printf("%s: %v", name, err)
					}
					errs++
				} else if err == nil {
					lat = append(lat, el)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	slices.Sort(lat)
	q := func(f float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds()) / 1000
	}
	r := rate{PerSecond: float64(len(lat)) / elapsed.Seconds(), P50Ms: q(0.5), P99Ms: q(0.99), MaxMs: q(1), Errors: errs, Requests: len(lat) + errs}
	if r.Requests > 0 {
		r.ServerCPUPerOpUs = (cpuSeconds(pid) - cpu0) / float64(r.Requests) * 1e6
	}
	log.Printf("%s: %.0f/s, p50 %.1f ms, p99 %.1f ms, max %.1f ms, %d errors, server %.0f µs CPU per request", name, r.PerSecond, r.P50Ms, r.P99Ms, r.MaxMs, errs, r.ServerCPUPerOpUs)
	return r
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
