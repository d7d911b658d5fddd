package workers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers"
	"github.com/switchboard-voip/switchboard/workers/ring"
)

const P = 64

func cfg(id string) workers.Config {
	return workers.Config{
		NodeID: id, Roles: []string{events.RoleMedia, events.RoleConference}, Partitions: P,
		VNodes: 160, Probes: 5, HeartbeatInterval: 500 * time.Millisecond, NodeTimeout: 2500 * time.Millisecond,
		DrainTimeout: 10 * time.Second, Replicas: 1, EventRetention: time.Hour, Version: "test",
	}
}

// recordingRole counts takeovers so tests can see the hook run.
type recordingRole struct {
	workers.BaseRole
	takeovers, takeoversAfterDeath atomic.Int32
	mu                             sync.Mutex
	tookFromDead                   map[int]bool
}

func (r *recordingRole) TakeOver(_ context.Context, p int, takeover bool) error {
	r.takeovers.Add(1)
	if takeover {
		r.takeoversAfterDeath.Add(1)
		r.mu.Lock()
		if r.tookFromDead == nil {
			r.tookFromDead = map[int]bool{}
		}
		r.tookFromDead[p] = true
		r.mu.Unlock()
	}
	return nil
}

func (r *recordingRole) tookOver(p int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tookFromDead[p]
}

type runningNode struct {
	*workers.Node
	nc   *nats.Conn
	role *recordingRole
	stop context.CancelFunc
	done chan error
}

func start(t *testing.T, s *server.Server, id string) *runningNode {
	t.Helper()
	nc := natstest.Connect(t, s)
	role := &recordingRole{BaseRole: workers.BaseRole{RoleName: events.RoleMedia}}
	quiet := slog.New(slog.DiscardHandler)
	n, err := workers.New(context.Background(), nc, cfg(id), []workers.Role{role}, workers.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rn := &runningNode{Node: n, nc: nc, role: role, stop: cancel, done: make(chan error, 1)}
	go func() { rn.done <- n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-rn.done })
	return rn
}

// sampler checks, every 2 ms, that no partition is owned by two nodes.
type sampler struct {
	mu      sync.Mutex
	nodes   []*runningNode
	samples int
	bad     []string
	stop    chan struct{}
	wg      sync.WaitGroup
}

func newSampler(nodes ...*runningNode) *sampler {
	s := &sampler{nodes: nodes, stop: make(chan struct{})}
	s.wg.Go(func() {
		for {
			select {
			case <-s.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			s.sample()
		}
	})
	return s
}

func (s *sampler) sample() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples++
	for _, role := range []string{events.RoleMedia, events.RoleConference} {
		owner := map[int]string{}
		for _, n := range s.nodes {
			for _, p := range n.Owned(role) {
				if o, dup := owner[p]; dup && len(s.bad) < 10 {
					s.bad = append(s.bad, fmt.Sprintf("%s partition %d owned by %s and %s", role, p, o, n.ID()))
				}
				owner[p] = n.ID()
			}
		}
	}
}

func (s *sampler) finish(t *testing.T) {
	t.Helper()
	close(s.stop)
	s.wg.Wait()
	if len(s.bad) > 0 {
		t.Fatalf("double ownership in %d samples: %v", s.samples, s.bad)
	}
	t.Logf("%d ownership samples, no partition ever had two owners", s.samples)
}

// coverage returns how many partitions of role the nodes own together, and
// each node's count.
func coverage(role string, nodes ...*runningNode) (int, map[string]int) {
	all := map[int]bool{}
	per := map[string]int{}
	for _, n := range nodes {
		ps := n.Owned(role)
		per[n.ID()] = len(ps)
		for _, p := range ps {
			all[p] = true
		}
	}
	return len(all), per
}

func allOwned(role string, nodes ...*runningNode) func() error {
	return func() error {
		if c, per := coverage(role, nodes...); c != P {
			return fmt.Errorf("%d of %d %s partitions owned: %v", c, P, role, per)
		}
		for _, n := range nodes {
			if len(n.Owned(role)) == 0 {
				return fmt.Errorf("%s owns no %s partition", n.ID(), role)
			}
		}
		return nil
	}
}

func TestThreeNodesSpreadThenSurviveACrash(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	a, b, c := start(t, s, "node-a"), start(t, s, "node-b"), start(t, s, "node-c")
	smp := newSampler(a, b, c)

	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, allOwned(events.RoleMedia, a, b, c))
	natstest.CheckFor(t, 15*time.Second, 20*time.Millisecond, allOwned(events.RoleConference, a, b, c))
	// Ownership converges to exactly what the ring says.
	want := ring.New([]string{"node-a", "node-b", "node-c"}, 160, 5).Assign(P)
	natstest.CheckFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		for _, n := range []*runningNode{a, b, c} {
			for _, p := range n.Owned(events.RoleMedia) {
				if want[p] != n.ID() {
					return fmt.Errorf("partition %d on %s, ring says %s", p, n.ID(), want[p])
				}
			}
		}
		return allOwned(events.RoleMedia, a, b, c)()
	})
	_, per := coverage(events.RoleMedia, a, b, c)
	t.Logf("media partitions per node: %v", per)
	natstest.CheckFor(t, 15*time.Second, 20*time.Millisecond, func() error {
		for _, n := range []*runningNode{a, b, c} {
			if !n.Ready() {
				return fmt.Errorf("%s not ready", n.ID())
			}
		}
		return nil
	})

	// Crash b: its connection goes away with no goodbye; its leases stay
	// in KV naming it.
	lostB := b.Owned(events.RoleMedia)
	crashed := time.Now()
	b.nc.Close()
	natstest.CheckFor(t, 5*time.Second, 10*time.Millisecond, allOwned(events.RoleMedia, a, c))
	t.Logf("survivors own all partitions %v after the crash", time.Since(crashed).Round(time.Millisecond))
	natstest.CheckFor(t, 2*time.Second, 10*time.Millisecond, allOwned(events.RoleConference, a, c))
	if got := b.Owned(events.RoleMedia); len(got) != 0 {
		t.Fatalf("crashed node still believes it owns %v", got)
	}
	// Every partition of the dead node went through the takeover hook. (A
	// survivor starved of CPU may also fence itself and re-take its own
	// partitions under a new incarnation; that is allowed, and logged.)
	for _, p := range lostB {
		if !a.role.tookOver(p) && !c.role.tookOver(p) {
			t.Errorf("partition %d of the dead node was not taken over through the hook", p)
		}
	}
	if d := a.role.takeoversAfterDeath.Load() + c.role.takeoversAfterDeath.Load(); int(d) != len(lostB) {
		t.Logf("%d dead-owner takeovers for node-b's %d partitions: a survivor fenced itself under load", d, len(lostB))
	}
	smp.finish(t)
}

func TestDrainHandsOverEveryPartition(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	a, b := start(t, s, "node-a"), start(t, s, "node-b")
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, allOwned(events.RoleMedia, a, b))

	// Watch the events the drain must produce.
	evs := natstest.Connect(t, s)
	left := make(chan events.Event, 1)
	sub, err := evs.Subscribe(events.NodeEventSubject("node-a", "left"), func(m *nats.Msg) {
		if e, err := events.Parse(m.Data); err == nil {
			left <- e
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	smp := newSampler(a, b)
	began := time.Now()
	if err := a.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	natstest.CheckFor(t, 3*time.Second, 10*time.Millisecond, func() error {
		if c, _ := coverage(events.RoleMedia, b); c != P {
			return fmt.Errorf("survivor owns %d of %d", c, P)
		}
		return nil
	})
	t.Logf("drain handed %d partitions over in %v", P, time.Since(began).Round(time.Millisecond))
	if took := b.role.takeoversAfterDeath.Load(); took != 0 {
		t.Errorf("%d partitions were taken as from a dead node; a drain hands them over", took)
	}
	a.stop()
	if err := <-a.done; err != nil {
		t.Fatal(err)
	}
	a.done <- nil // for the cleanup
	select {
	case e := <-left:
		if l := e.Data.(*events.NodeLeft); l.Reason != "drained" {
			t.Errorf("left event reason %q, want drained", l.Reason)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no node.left event")
	}
	smp.finish(t)
}

func TestRestartedNodeTakesBackItsShare(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	a, b := start(t, s, "node-a"), start(t, s, "node-b")
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, allOwned(events.RoleMedia, a, b))
	smp := newSampler(a, b)
	b.stop()
	<-b.done
	b.done <- nil
	natstest.CheckFor(t, 3*time.Second, 10*time.Millisecond, func() error {
		if c, _ := coverage(events.RoleMedia, a); c != P {
			return fmt.Errorf("a owns %d", c)
		}
		return nil
	})
	b2 := start(t, s, "node-b")
	smp.mu.Lock()
	smp.nodes = append(smp.nodes, b2)
	smp.mu.Unlock()
	natstest.CheckFor(t, 15*time.Second, 20*time.Millisecond, allOwned(events.RoleMedia, a, b2))
	smp.finish(t)
}

func TestPartitionCountMustAgree(t *testing.T) {
	s := natstest.Run(t)
	nc := natstest.Connect(t, s)
	if _, err := workers.New(context.Background(), nc, cfg("x"), nil); err != nil {
		t.Fatal(err)
	}
	c := cfg("y")
	c.Partitions = 32
	if _, err := workers.New(context.Background(), nc, c, nil); err == nil {
		t.Fatal("a node with another partition count joined")
	}
}

func TestLocateIsAnsweredByTheOwner(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	a, b := start(t, s, "node-a"), start(t, s, "node-b")
	want := ring.New([]string{"node-a", "node-b"}, 160, 5).Assign(P)
	converged(t, want, a, b)
	cli := natstest.Connect(t, s)
	for _, callID := range []string{"a84b4c76e66710@pc33.atlanta.com", "x", "3848276298220188511@atlanta.example.com"} {
		p := events.Partition(callID, P)
		m, err := cli.Request(events.PartitionCommandSubject(events.RoleMedia, p, "locate"), []byte(`{}`), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		var r events.LocateReply
		if err := json.Unmarshal(m.Data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Code != 200 || r.Node != want[p] || *r.Partition != p {
			t.Errorf("locate %q: %+v, want node %s partition %d", callID, r, want[p], p)
		}
		m, err = cli.Request(events.PartitionCommandSubject(events.RoleMedia, p, "frobnicate"), []byte(`{}`), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(m.Data, &r); err != nil || r.Code != 501 {
			t.Errorf("unimplemented verb: %s", m.Data)
		}
	}
}

// converged waits until every node owns exactly what the ring gives it and
// reports ready (its subscriptions are on the server).
func converged(t *testing.T, want []string, nodes ...*runningNode) {
	t.Helper()
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		for _, n := range nodes {
			var mine []int
			for p, o := range want {
				if o == n.ID() {
					mine = append(mine, p)
				}
			}
			if got := n.Owned(events.RoleMedia); !slices.Equal(got, mine) || !n.Ready() {
				return fmt.Errorf("%s owns %v (ready %v), ring says %v", n.ID(), got, n.Ready(), mine)
			}
		}
		return nil
	})
}

// TestSurvivesANATSRestart: the server goes away and comes back (same
// port, same store); the node reconnects, re-reads the cluster state and
// owns its partitions again instead of exiting.
func TestSurvivesANATSRestart(t *testing.T) {
	leak.Check(t)
	dir := t.TempDir()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true}
	s1 := runServer(t, opts)
	port := s1.Addr().(*net.TCPAddr).Port
	a := start(t, s1, "node-a")
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, allOwned(events.RoleMedia, a))

	s1.Shutdown()
	s1.WaitForShutdown()
	opts2 := *opts
	opts2.Port = port
	runServer(t, &opts2)

	natstest.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		select {
		case err := <-a.done:
			a.done <- err
			return fmt.Errorf("node exited after the restart: %v", err)
		default:
		}
		if !a.Ready() || len(a.Owned(events.RoleMedia)) != P {
			return fmt.Errorf("ready %v, owns %d", a.Ready(), len(a.Owned(events.RoleMedia)))
		}
		return nil
	})
}

// suspendingRole is a recordingRole that keeps its partitions over a fence.
type suspendingRole struct {
	recordingRole
	suspends, resumes, lost atomic.Int32
}

func (r *suspendingRole) Suspend(int) { r.suspends.Add(1) }
func (r *suspendingRole) Resume(int)  { r.resumes.Add(1) }
func (r *suspendingRole) Release(_ context.Context, _ int, lost bool) error {
	if lost {
		r.lost.Add(1)
	}
	return nil
}

// TestFencedNodeResumesUntouchedPartitions: the only node's NATS server
// goes away long enough for the node to fence itself. A Suspender role
// keeps its partitions meanwhile; when the server is back and nobody took
// the leases, the node renews them under its new incarnation and resumes
// every partition: no takeover, nothing lost. Also after an outage longer
// than four node timeouts (a JetStream election on a loaded machine can
// take that long): the node used to release its partitions as lost, and
// take them over from its own dead incarnation meanwhile.
func TestFencedNodeResumesUntouchedPartitions(t *testing.T) {
	for _, c := range []struct {
		name   string
		outage time.Duration
	}{{"brief", 0}, {"longer than 4 node timeouts", 5 * time.Second}} {
		t.Run(c.name, func(t *testing.T) { fencedNodeResumes(t, c.outage) })
	}
}

func fencedNodeResumes(t *testing.T, outage time.Duration) {
	leak.Check(t)
	dir := t.TempDir()
	opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true}
	s1 := runServer(t, opts)
	port := s1.Addr().(*net.TCPAddr).Port
	nc := natstest.Connect(t, s1)
	role := &suspendingRole{recordingRole: recordingRole{BaseRole: workers.BaseRole{RoleName: events.RoleMedia}}}
	c := cfg("node-a")
	c.Roles = []string{events.RoleMedia}
	c.HeartbeatInterval, c.NodeTimeout = 250*time.Millisecond, time.Second
	n, err := workers.New(context.Background(), nc, c, []workers.Role{role}, workers.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if got := len(n.Owned(events.RoleMedia)); got != P {
			return fmt.Errorf("owns %d", got)
		}
		return nil
	})
	took := role.takeovers.Load()

	s1.Shutdown()
	s1.WaitForShutdown()
	natstest.CheckFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if got := role.suspends.Load(); got != P {
			return fmt.Errorf("%d partitions suspended", got)
		}
		return nil
	})
	time.Sleep(outage)
	opts2 := *opts
	opts2.Port = port
	runServer(t, &opts2)
	natstest.CheckFor(t, 15*time.Second, 50*time.Millisecond, func() error {
		if !n.Ready() || len(n.Owned(events.RoleMedia)) != P {
			return fmt.Errorf("ready %v, owns %d, resumed %d", n.Ready(), len(n.Owned(events.RoleMedia)), role.resumes.Load())
		}
		return nil
	})
	time.Sleep(2 * c.NodeTimeout) // our old incarnation is dead by now: nothing may take its leases over
	if r, tk, l := role.resumes.Load(), role.takeovers.Load()-took, role.lost.Load(); r != P || tk != 0 || l != 0 {
		t.Errorf("after the outage: %d resumed, %d taken over again, %d lost; want %d, 0, 0", r, tk, l, P)
	}
}

// runServer starts a nats-server with opts and stops it when the test ends.
func runServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}
