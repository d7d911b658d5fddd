package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/test/peers"
)

var (
	natsServerOnce sync.Once
	natsServerBin  string
	natsServerErr  error
)

// natsServerBinary builds nats-server from the module switchboard embeds,
// once per package run: the same server, as a process of its own that a
// test can kill -9.
func natsServerBinary(t *testing.T) string {
	t.Helper()
	natsServerOnce.Do(func() {
		natsServerBin = filepath.Join(filepath.Dir(binary), "nats-server")
		out, err := exec.Command("go", "build", "-o", natsServerBin, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			natsServerErr = fmt.Errorf("build nats-server: %v\n%s", err, out)
		}
	})
	if natsServerErr != nil {
		t.Fatal(natsServerErr)
	}
	return natsServerBin
}

// natsNode is one nats-server process of a test cluster.
type natsNode struct {
	name string
	url  string
	cmd  *exec.Cmd
	out  *syncBuf
	done chan struct{}
}

// natsCluster starts three nats-server processes on loopback, routed to
// each other, JetStream on, and waits until JetStream answers.
func natsCluster(t *testing.T) []*natsNode {
	t.Helper()
	bin := natsServerBinary(t)
	var ports, cports [3]int
	for i := range 3 {
		ports[i], cports[i] = freePort(t), freePort(t)
	}
	var routes []string
	for _, p := range cports {
		routes = append(routes, fmt.Sprintf("nats-route://127.0.0.1:%d", p))
	}
	var nodes []*natsNode
	for i := range 3 {
		dir := t.TempDir()
		n := &natsNode{name: fmt.Sprintf("n%d", i+1), url: fmt.Sprintf("nats://127.0.0.1:%d", ports[i]), out: &syncBuf{}, done: make(chan struct{})}
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
jetstream { store_dir: %q }
cluster { name: sb, listen: 127.0.0.1:%d, routes: [%s] }
`, n.name, ports[i], filepath.Join(dir, "js"), cports[i], strings.Join(routes, ", "))
		path := filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			t.Fatal(err)
		}
		n.cmd = exec.Command(bin, "-c", path)
		n.cmd.Stdout, n.cmd.Stderr = n.out, n.out
		if err := n.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = n.cmd.Wait(); close(n.done) }()
		t.Cleanup(func() {
			_ = n.cmd.Process.Kill()
			<-n.done
			if t.Failed() {
				var keep []string
				for _, l := range strings.Split(n.out.String(), "\n") {
					if !strings.Contains(l, "Error trying to connect to route") && !strings.Contains(l, "[INF]") {
						keep = append(keep, l)
					}
				}
				t.Logf("nats-server %s warnings and errors (last lines):\n%s", n.name, lastLines(strings.Join(keep, "\n"), 40))
			}
		})
		nodes = append(nodes, n)
	}
	var nc *nats.Conn
	natstest.CheckFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		var err error
		nc, err = nats.Connect(clusterURL(nodes))
		return err
	})
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	natstest.CheckFor(t, 20*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err
	})
	// JetStream answering is not all three servers being peers: wait until
	// an R3 stream can be placed (else the platform's first R3 bucket
	// fails with "no suitable peers for placement").
	natstest.CheckFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PROBE", Subjects: []string{"probe.r3"}, Replicas: 3}); err != nil {
			return err
		}
		return js.DeleteStream(ctx, "PROBE")
	})
	return nodes
}

func clusterURL(nodes []*natsNode) string {
	var urls []string
	for _, n := range nodes {
		urls = append(urls, n.url)
	}
	return strings.Join(urls, ",")
}

// TestNATSNodeLoss: three nats-server processes (JetStream, R3), `up`
// (edge and every role) and a second media worker connected to all three.
// Twenty sipp echo calls are up when the nats-server leading the lease
// bucket is killed with -9: the clients reconnect to the others, the calls
// go on (sipp exits 0, every call ends by its own BYE, the echo kept
// flowing) and every event the test saw published is in the event stream.
func TestNATSNodeLoss(t *testing.T) {
	needTools(t, "sipp", "sox")
	const calls = 20
	nodes := natsCluster(t)
	url := clusterURL(nodes)
	up := startProc(t, "up", "--node-id", "main", "--nats", url, "--replicas", "3", "--http", "127.0.0.1:0",
		"--sip-host", "127.0.0.1", "--sip-port", "0", "--sip-advertise", "127.0.0.1", "--media-ip", "127.0.0.1",
		"--rtp-port-min", "37500", "--rtp-port-max", "37699")
	sipAddr := up.logValue(t, "sip")
	w2 := startProc(t, "worker", "--node-id", "w2", "--nats", url, "--replicas", "3", "--roles", "media", "--http", "127.0.0.1:0",
		"--media-ip", "127.0.0.1", "--rtp-port-min", "37700", "--rtp-port-max", "37899")

	nc := connect(t, url)
	// The server to kill leads every stream (lease and membership buckets,
	// calls, the event stream): the worst one to lose. Every heartbeat,
	// lease renewal, call save and event waits for new leaders, so the
	// workers fence themselves and must resume their partitions.
	// The workers may fence themselves while the leaders move; the split
	// must hold again before the calls.
	mediaSplit(t, url, "main", "w2")
	js, _ := jetstream.New(nc)
	victim, led := leadEverything(t, nc, js, nodes)
	mediaSplit(t, url, "main", "w2")
	ce := watchCalls(t, nc)
	var mu sync.Mutex
	seen := map[string]string{} // event id -> type, as published
	sub, err := nc.Subscribe(events.EventWildcard, func(m *nats.Msg) {
		if e, err := events.Parse(m.Data); err == nil {
			mu.Lock()
			seen[e.ID] = e.Type
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	dir := sippDir(t, 1, 1000)
	// Calls may be moved more than once while JetStream elects leaders
	// (both nodes can fence themselves): the scenario takes any number of
	// re-INVITEs.
	if err := os.WriteFile(filepath.Join(dir, "uac_moving.xml"), []byte(peers.MovingCallScenario(10, 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	done := sippEchoCalls(t, dir, sipAddr, "uac_moving.xml", calls, 37950)
	if !waitFor(15*time.Second, func() bool { return len(ce.of(typeAnswered, "")) >= calls }) {
		// Say what became of the missing call(s) before failing.
		var ends []string
		for _, e := range ce.of(typeCompleted, "") {
			ends = append(ends, fmt.Sprintf("%s on %s: %+v", e.CallID, e.Node, e.Data))
		}
		out := "(sipp still running)"
		select {
		case r := <-done:
			out = lastLines(r.out, 200)
		case <-time.After(70 * time.Second):
		}
		t.Fatalf("after 15 s: %d incoming, %d answered, completed: %v\nsipp:\n%s", len(ce.of(typeIncoming, "")),
			len(ce.of(typeAnswered, "")), ends, out)
	}
	answered := ce.of(typeAnswered, "")

	killed := time.Now()
	_ = victim.cmd.Process.Kill()
	<-victim.done
	t.Logf("killed nats-server %s (leader of every stream: %s) %v after the last call was answered", victim.name, strings.Join(led, ", "), killed.Sub(answered[len(answered)-1].Time).Round(time.Millisecond))

	r := <-done
	if r.code != 0 {
		t.Fatalf("sipp exit %d (a call failed):\n%s", r.code, lastLines(r.out, 40))
	}
	// What happened, from the event stream: a subscriber connected to the
	// killed server misses what is published while it reconnects (core
	// NATS), the stream does not. Every event seen on the wire must be in
	// it too.
	mu.Lock()
	want := len(seen)
	mu.Unlock()
	var rec *callEvents
	stored := map[string]bool{}
	natstest.CheckFor(t, 10*time.Second, 500*time.Millisecond, func() error {
		var err error
		if rec, stored, err = streamEvents(js); err != nil {
			return err
		}
		if len(stored) < want || len(rec.of(typeCompleted, "")) < len(answered) {
			return fmt.Errorf("%d events in the stream (%d seen), %d calls completed", len(stored), want, len(rec.of(typeCompleted, "")))
		}
		return nil
	})
	for _, e := range answered {
		cc := rec.of(typeCompleted, e.CallID)[0]
		c := cc.Data.(*events.CallCompleted)
		if c.Status != events.StatusCompleted || c.HangupBy != events.ByRemote {
			t.Errorf("call %s completed %+v: want a normal end by sipp's BYE", e.CallID, c)
		}
		stats := rec.of(typeStats, e.CallID)
		if len(stats) == 0 {
			t.Errorf("call %s: no media_stats", e.CallID)
			continue
		}
		s := stats[len(stats)-1].Data.(*events.CallMediaStats)
		// A moved call's figures start with its session on the new owner.
		from := e.Time
		if m := rec.of(typeMigrated, e.CallID); len(m) > 0 {
			from = m[len(m)-1].Time
		}
		want := uint64(cc.Time.Sub(from).Seconds() * 50 * 0.8)
		if !s.Final || s.PacketsReceived < want || s.PacketsSent < want {
			t.Errorf("call %s: final media_stats %+v: want at least %d packets each way", e.CallID, s, want)
		}
	}
	if m := rec.of(typeMigrated, ""); len(m) > 0 {
		t.Logf("%d calls were moved (a node fenced itself while JetStream elected a new leader)", len(m))
	}

	// What the loss did to the workers (a fence happens when the killed
	// server also held what their heartbeats needed), and to the edge.
	for _, p := range []struct {
		name string
		proc *proc
	}{{"main", up}, {"w2", w2}} {
		m := scrapeProc(t, p.proc)
		t.Logf("%s: media partitions suspended %v, resumed %v, lost %v, acquired %v; SIP no_owner %v, owner_reasked %v", p.name,
			m[`sb_partition_changes_total{change="suspended",role="media"}`], m[`sb_partition_changes_total{change="resumed",role="media"}`],
			m[`sb_partition_changes_total{change="lost",role="media"}`], m[`sb_partition_changes_total{change="acquired",role="media"}`],
			m[`sb_sip_errors_total{reason="no_owner"}`], m[`sb_sip_errors_total{reason="owner_reasked"}`])
	}

	mu.Lock()
	defer mu.Unlock()
	var missing []string
	for id, typ := range seen {
		if !stored[id] {
			missing = append(missing, typ)
		}
	}
	t.Logf("%d events published during the test, %d of them in %s", want, want-len(missing), events.EventStream)
	if len(missing) > 0 {
		t.Errorf("%d events are not in %s: %v", len(missing), events.EventStream, missing)
	}
}

// streamEvents reads the whole event stream: the call events, parsed, and
// the ids (Nats-Msg-Id) of every event.
func streamEvents(js jetstream.JetStream) (*callEvents, map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
	defer cancel()
	cons, err := js.OrderedConsumer(ctx, events.EventStream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, nil, err
	}
	ce, ids := &callEvents{}, map[string]bool{}
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for m := range batch.Messages() {
			n++
			ids[m.Headers().Get(nats.MsgIdHdr)] = true
			if e, err := events.Parse(m.Data()); err == nil && e.CallID != "" {
				ce.evs = append(ce.evs, e)
			}
		}
		if n == 0 {
			return ce, ids, nil
		}
	}
}

// scrapeProc reads a process's /metrics: series (name and labels as
// exposed) to value.
func scrapeProc(t *testing.T, p *proc) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	resp, err := http.Get(p.logValue(t, "http") + "/metrics")
	if err != nil {
		t.Errorf("metrics: %v", err)
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// leadEverything makes one server (the lease bucket's leader) the leader of
// every stream, asking the others' leaders to step down in its favour
// (nats-server 2.11+: a preferred placement), and returns it with the
// streams' names.
func leadEverything(t *testing.T, nc *nats.Conn, js jetstream.JetStream, nodes []*natsNode) (*natsNode, []string) {
	t.Helper()
	leader := func(name string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, name)
		if err != nil {
			return "", err
		}
		info, err := st.Info(ctx)
		if err != nil {
			return "", err
		}
		if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			return "", fmt.Errorf("stream %s is not R3: %+v", name, info.Cluster)
		}
		return info.Cluster.Leader, nil
	}
	first, err := leader("KV_" + events.BucketOwners)
	if err != nil {
		t.Fatal(err)
	}
	var victim *natsNode
	for _, n := range nodes {
		if n.name == first {
			victim = n
		}
	}
	if victim == nil {
		t.Fatalf("leader %q of the lease bucket is not one of ours", first)
	}
	var names []string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	sn := js.StreamNames(ctx)
	for name := range sn.Name() {
		names = append(names, name)
	}
	cancel()
	if sn.Err() != nil {
		t.Fatal(sn.Err())
	}
	natstest.CheckFor(t, 20*time.Second, 500*time.Millisecond, func() error {
		var away []string
		for _, name := range names {
			l, err := leader(name)
			if err != nil {
				return err
			}
			if l == victim.name {
				continue
			}
			away = append(away, name+" on "+l)
			body := fmt.Sprintf(`{"placement":{"preferred":%q}}`, victim.name)
			if _, err := nc.Request("$JS.API.STREAM.LEADER.STEPDOWN."+name, []byte(body), 2*time.Second); err != nil {
				return fmt.Errorf("step down %s: %v", name, err)
			}
		}
		if len(away) > 0 {
			return fmt.Errorf("leaders elsewhere: %v", away)
		}
		return nil
	})
	return victim, names
}
