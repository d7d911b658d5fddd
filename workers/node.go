package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/ring"
)

// Option configures a Node.
type Option func(*Node) error

// WithLogger sets the logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(n *Node) error { n.log = l; return nil }
}

// WithRegisterer registers the runtime's metrics with reg.
func WithRegisterer(reg prometheus.Registerer) Option {
	return func(n *Node) error { n.reg = reg; return nil }
}

// ownership is one partition this node owns.
type ownership struct {
	rev uint64 // lease revision
	sub *nats.Subscription
	// mu is held for reading while a message of the partition is handled and
	// for writing while the partition is released, so that no handler runs
	// after the lease is handed back.
	mu       sync.RWMutex
	released bool
	// unwantedSince is when the ring first gave this partition to another
	// node (a node that joined) while the role still had calls in it; zero
	// while the ring gives it to us. Loop-only.
	unwantedSince time.Time
}

// Node is one member of the cluster: it heartbeats, and for every worker
// role it runs, owns the partitions the ring gives it.
type Node struct {
	cfg   Config
	nc    *nats.Conn
	st    *Stores
	roles map[string]Role
	log   *slog.Logger
	reg   prometheus.Registerer
	met   *metrics

	kick      chan struct{} // wakes the loop
	beat      chan struct{} // asks for a heartbeat now
	drained   chan struct{} // closed when a drain has handed everything over
	drainOnce sync.Once

	mu          sync.Mutex
	incarnation string
	seq         uint64
	fenceAt     time.Time // own membership is trusted until then
	draining    bool
	synced      bool // initial KV state seen and first reconcile done
	owned       map[string]map[int]*ownership
	subsPending bool // owned partitions subscribed but not yet flushed
	// suspended are the partitions of Suspender roles this node owned when
	// it fenced itself: kept, not handled, until resumed or released.
	suspended map[string]map[int]suspension
	// others counts, per role, the live non-draining members other than
	// this node, as the loop last saw them (Others).
	others map[string]int

	// Loop-only state (touched by the loop goroutine alone).
	peers  map[string]*peer
	leases map[string]leaseEntry
	// selfBeats counts our own heartbeats (this incarnation) as the
	// membership watcher delivers them: the clock by which a peer's silence
	// is judged, so that a watcher that stalls (our server died, the
	// bucket's leader moved) never makes live peers look dead.
	selfBeats uint64
	rings     map[string]ringCache
}

// suspension is a partition held over a fence: the lease it had then.
type suspension struct {
	rev uint64
	inc string
}

type leaseEntry struct {
	l   Lease
	rev uint64
}

type ringCache struct {
	sig string
	r   *ring.Ring
}

// New validates cfg, prepares the buckets and stream, and agrees on the
// partition count with the cluster. roles must cover cfg.Roles; a role
// named in cfg.Roles without an implementation gets a BaseRole.
func New(ctx context.Context, nc *nats.Conn, cfg Config, roles []Role, opts ...Option) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		nc:        nc,
		roles:     map[string]Role{},
		log:       slog.Default(),
		kick:      make(chan struct{}, 1),
		beat:      make(chan struct{}, 1),
		drained:   make(chan struct{}),
		owned:     map[string]map[int]*ownership{},
		suspended: map[string]map[int]suspension{},
		others:    map[string]int{},
	}
	for _, o := range opts {
		if err := o(n); err != nil {
			return nil, err
		}
	}
	n.met = newMetrics(n.reg)
	n.met.partitionsConf.Set(float64(cfg.Partitions))
	for _, r := range roles {
		n.roles[r.Name()] = r
	}
	for _, name := range cfg.Roles {
		if n.roles[name] == nil {
			n.roles[name] = BaseRole{RoleName: name}
		}
		n.owned[name] = map[int]*ownership{}
		n.met.partitionsOwned.WithLabelValues(name).Set(0)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	if n.st, err = Bootstrap(ctx, js, cfg.Replicas, 20*cfg.NodeTimeout, cfg.EventRetention); err != nil {
		return nil, err
	}
	if err := AgreePartitions(ctx, n.st.Config, cfg.Partitions); err != nil {
		return nil, err
	}
	return n, nil
}

// ID returns the node id.
func (n *Node) ID() string { return n.cfg.NodeID }

// Stores returns the JetStream buckets and stream the node uses.
func (n *Node) Stores() *Stores { return n.st }

// Owned returns the partitions of role this node owns now, sorted. A node
// whose membership is no longer trusted (fenced) owns nothing.
func (n *Node) Owned(role string) []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.trustedLocked(time.Now()) {
		return nil
	}
	out := make([]int, 0, len(n.owned[role]))
	for p := range n.owned[role] {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Others returns how many live, non-draining members other than this node
// run role, as the node last saw them: whether anyone is there to take
// over what this node hands back.
func (n *Node) Others(role string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.others[role]
}

// Ready reports whether the node is connected, has joined, and has every
// partition it owns subscribed on the server.
func (n *Node) Ready() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.nc.IsConnected() && n.synced && !n.subsPending && n.trustedLocked(time.Now())
}

func (n *Node) trustedLocked(now time.Time) bool { return now.Before(n.fenceAt) }

func (n *Node) owns(role string, p int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	_, ok := n.owned[role][p]
	return ok && n.trustedLocked(time.Now())
}

func (n *Node) wake() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Run joins the cluster and owns partitions until ctx is cancelled; then it
// leaves: it gives back whatever it still owns (after Drain, nothing) and
// removes its membership. It returns after every goroutine it started ended.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	n.incarnation = nuid.Next()
	n.mu.Unlock()

	// The watchers outlive ctx: leaving the cluster still needs them, and
	// they are stopped by the defers below.
	wctx := context.WithoutCancel(ctx)
	nodesW, err := n.st.Nodes.WatchAll(wctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", events.BucketNodes, err)
	}
	defer nodesW.Stop()
	ownersW, err := n.st.Owners.WatchAll(wctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", events.BucketOwners, err)
	}
	defer ownersW.Stop()

	var wg sync.WaitGroup
	hbCtx, stopHB := context.WithCancel(ctx)
	wg.Go(func() { n.heartbeatLoop(hbCtx) })
	defer wg.Wait()
	defer stopHB()

	n.peers = map[string]*peer{}
	n.leases = map[string]leaseEntry{}
	n.rings = map[string]ringCache{}
	nodesSynced, ownersSynced, joined := false, false, false
	lastOwned := map[string]int{}
	tick := time.NewTicker(n.cfg.HeartbeatInterval / 2)
	defer tick.Stop()

	for {
		select {
		case <-ctx.Done():
			n.leave()
			return nil
		case e, ok := <-nodesW.Updates():
			if !ok {
				n.leave()
				return errors.New("membership watcher closed")
			}
			if e == nil {
				nodesSynced = true
			} else {
				n.onMember(e)
			}
		case e, ok := <-ownersW.Updates():
			if !ok {
				n.leave()
				return errors.New("lease watcher closed")
			}
			if e == nil {
				ownersSynced = true
			} else {
				n.onLease(e)
			}
		case <-n.kick:
		case <-tick.C:
		}
		if !nodesSynced || !ownersSynced {
			continue
		}
		now := time.Now()
		n.mu.Lock()
		trusted := n.trustedLocked(now)
		hadJoined := !n.fenceAt.IsZero()
		n.mu.Unlock()
		if !trusted {
			if hadJoined {
				n.fence()
			}
			for _, role := range n.cfg.Roles {
				n.settleSuspended(ctx, role, false)
			}
			continue
		}
		if !joined {
			joined = true
			n.publish(events.New(n.cfg.NodeID, &events.NodeJoined{
				Roles: append(slices.Clone(n.cfg.Roles), n.cfg.Labels...), Version: n.cfg.Version,
				Incarnation: n.currentIncarnation(), HTTPAddr: n.cfg.HTTPAddr,
			}))
		}
		n.noticeDown(now)
		owned := 0
		for _, role := range n.cfg.Roles {
			n.settleSuspended(ctx, role, true)
			n.reconcile(ctx, role)
			k := len(n.ownedUnchecked(role))
			owned += k
			if k != lastOwned[role] {
				n.log.Info("partitions owned", "role", role, "count", k, "of", n.cfg.Partitions)
				lastOwned[role] = k
			}
		}
		n.flushSubs()
		n.mu.Lock()
		n.synced = true
		draining := n.draining
		n.mu.Unlock()
		if draining && owned == 0 {
			n.drainOnce.Do(func() { close(n.drained) })
		}
	}
}

func (n *Node) currentIncarnation() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.incarnation
}

// heartbeatLoop writes the membership key every HeartbeatInterval and moves
// the fence deadline forward on every acknowledged write.
func (n *Node) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(n.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		n.heartbeat(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.beat:
		}
	}
}

func (n *Node) heartbeat(ctx context.Context) {
	n.mu.Lock()
	n.seq++
	m := Member{
		ID: n.cfg.NodeID, Incarnation: n.incarnation, Seq: n.seq,
		Roles: n.cfg.Roles, Labels: n.cfg.Labels, Draining: n.draining,
		Version: n.cfg.Version, HTTPAddr: n.cfg.HTTPAddr, Owned: map[string]int{},
	}
	for role, ps := range n.owned {
		m.Owned[role] = len(ps)
	}
	n.mu.Unlock()
	b, _ := json.Marshal(m)
	sent := time.Now()
	pctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatInterval)
	_, err := n.st.Nodes.Put(pctx, n.cfg.NodeID, b)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			n.met.heartbeatFailures.Inc()
			n.log.Warn("heartbeat not acknowledged", "err", err)
		}
		return
	}
	n.mu.Lock()
	if n.incarnation == m.Incarnation {
		n.fenceAt = sent.Add(n.cfg.NodeTimeout - n.cfg.fenceMargin())
	}
	n.mu.Unlock()
	n.wake()
}

func (n *Node) onMember(e jetstream.KeyValueEntry) {
	id := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(n.peers, id)
		return
	}
	var m Member
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		n.log.Warn("ignoring malformed heartbeat", "key", id, "err", err)
		return
	}
	if id == n.cfg.NodeID {
		// We know ourselves better than the bucket does; but our own
		// heartbeat coming back through the watcher proves the watcher is
		// live.
		if m.Incarnation == n.currentIncarnation() {
			n.selfBeats++
		}
		return
	}
	p := n.peers[id]
	if p != nil && p.m.Incarnation == m.Incarnation && m.Seq <= p.m.Seq {
		return // a replay, not a heartbeat
	}
	n.peers[id] = &peer{m: m, lastSeen: time.Now(), beatsAt: n.selfBeats}
}

// silent reports whether p's heartbeats stopped: none for NodeTimeout of
// wall time, and none while the watcher delivered most of the heartbeats we
// wrote in that time. The second part keeps a node whose own view is stale
// (its watcher stalled while its server died or a bucket leader was
// elected) from declaring live peers dead and taking their partitions.
func (n *Node) silent(p *peer, now time.Time) bool {
	if now.Sub(p.lastSeen) < n.cfg.NodeTimeout {
		return false
	}
	need := uint64(n.cfg.NodeTimeout/n.cfg.HeartbeatInterval) * 3 / 4
	return n.selfBeats-p.beatsAt >= max(need, 1)
}

// noticeDown declares down the peers whose heartbeats stopped without a
// goodbye (a graceful leave deletes the member key first). The live member
// with the lowest ID publishes node.down, so that it comes once.
func (n *Node) noticeDown(now time.Time) {
	lowest := true
	for id, p := range n.peers {
		if !n.silent(p, now) && id < n.cfg.NodeID {
			lowest = false
		}
	}
	for id, p := range n.peers {
		if p.down || !n.silent(p, now) {
			continue
		}
		p.down = true
		n.log.Warn("node down: no heartbeat", "peer", id, "silent_for", now.Sub(p.lastSeen).Round(time.Millisecond))
		if lowest {
			e := events.New(n.cfg.NodeID, &events.NodeDown{
				Incarnation: p.m.Incarnation, SilentMS: float64(now.Sub(p.lastSeen).Microseconds()) / 1000,
				Roles: p.m.Roles,
			})
			if err := events.Publish(n.nc, events.NodeEventSubject(id, e.Data.EventName()), e); err != nil {
				n.log.Debug("event not published", "type", e.Type, "err", err)
			}
		}
	}
}

func (n *Node) onLease(e jetstream.KeyValueEntry) {
	if e.Operation() != jetstream.KeyValuePut {
		delete(n.leases, e.Key())
		return
	}
	var l Lease
	if err := json.Unmarshal(e.Value(), &l); err != nil {
		n.log.Warn("ignoring malformed lease", "key", e.Key(), "err", err)
		return
	}
	n.leases[e.Key()] = leaseEntry{l: l, rev: e.Revision()}
}

// alive reports whether the holder of a lease still holds it.
func (n *Node) alive(node, inc string, now time.Time) bool {
	if node == n.cfg.NodeID {
		n.mu.Lock()
		defer n.mu.Unlock()
		return inc == n.incarnation && n.trustedLocked(now)
	}
	p := n.peers[node]
	return p != nil && p.m.Incarnation == inc && !n.silent(p, now)
}

// ringFor returns the ring of the live, non-draining members of role.
func (n *Node) ringFor(role string, now time.Time) *ring.Ring {
	var members []string
	n.mu.Lock()
	if !n.draining {
		members = append(members, n.cfg.NodeID)
	}
	n.mu.Unlock()
	for id, p := range n.peers {
		if p.m.HasRole(role) && !p.m.Draining && !n.silent(p, now) {
			members = append(members, id)
		}
	}
	slices.Sort(members)
	n.met.clusterNodes.WithLabelValues(role).Set(float64(len(members)))
	n.mu.Lock()
	n.others[role] = len(members)
	if !n.draining {
		n.others[role]-- // ourselves
	}
	n.mu.Unlock()
	sig := strings.Join(members, ",")
	if c, ok := n.rings[role]; ok && c.sig == sig {
		return c.r
	}
	r := ring.New(members, n.cfg.VNodes, n.cfg.Probes)
	n.rings[role] = ringCache{sig: sig, r: r}
	return r
}

// reconcile moves this node's ownership of role's partitions toward what
// the ring says, one compare-and-set at a time.
func (n *Node) reconcile(ctx context.Context, role string) {
	now := time.Now()
	rg := n.ringFor(role, now)
	n.mu.Lock()
	inc, draining := n.incarnation, n.draining
	n.mu.Unlock()
	for p := 0; p < n.cfg.Partitions; p++ {
		if ctx.Err() != nil {
			return
		}
		want := rg.Owner(p) == n.cfg.NodeID
		key := events.OwnerKey(role, p)
		le, hasLease := n.leases[key]
		n.mu.Lock()
		own := n.owned[role][p]
		_, suspended := n.suspended[role][p]
		n.mu.Unlock()
		if suspended {
			// settleSuspended decides it. Acquiring it meanwhile (our
			// old incarnation looks dead) gave the role a second copy of
			// the partition, which a later "lost" then released under
			// the node's feet: its SIP went unanswered for good.
			continue
		}
		if own != nil && want {
			own.unwantedSince = time.Time{}
		}
		switch {
		case own != nil && !want && !draining && n.holdForJoiner(role, p, own, now):
			// Keep it a while: its calls would otherwise move a second time
			// (a worker restarting in a rolling update comes back at once).
		case own != nil && !want:
			reason := "rebalance"
			if draining {
				reason = "drain"
			}
			n.release(ctx, role, p, reason)
		case own != nil && hasLease && le.rev > own.rev && (le.l.Node != n.cfg.NodeID || le.l.Incarnation != inc):
			// Someone replaced our lease: we must have been fenced
			// without noticing. Never keep a partition we do not hold.
			n.log.Error("lease taken by another node while owned", "role", role, "partition", p, "by", le.l.Node)
			n.dropLocal(role, p, true)
		case own == nil && want:
			switch {
			case !hasLease:
				n.acquire(ctx, role, p, 0, "", false)
			case le.l.Node == n.cfg.NodeID && le.l.Incarnation == inc:
				n.log.Info("adopting a lease of ours whose reply was lost", "role", role, "partition", p)
				n.acquire(ctx, role, p, le.rev, "", false)
			case !n.alive(le.l.Node, le.l.Incarnation, now):
				n.acquire(ctx, role, p, le.rev, le.l.Node, true)
			}
		case own == nil && !want && hasLease && le.l.Node == n.cfg.NodeID && le.l.Incarnation == inc:
			// A lease we took but never recorded: hand it back.
			n.deleteLease(ctx, key, le.rev)
		}
	}
}

// holdForJoiner reports whether to keep p although the ring now gives it to
// another node. The ring takes a partition away from a live owner only when
// a node joins; moving a partition moves its calls (a re-INVITE each), and a
// worker that leaves and comes straight back (a rolling restart) would get
// its calls moved twice for one departure. So a partition in which the role
// has calls (Holder.Busy) is kept for up to RebalanceDelay; idle partitions
// go at once, and a draining or departing owner hands everything over as
// usual.
func (n *Node) holdForJoiner(role string, p int, own *ownership, now time.Time) bool {
	h, ok := n.roles[role].(Holder)
	if !ok || n.cfg.RebalanceDelay <= 0 || !h.Busy(p) {
		return false
	}
	if own.unwantedSince.IsZero() {
		own.unwantedSince = now
		n.met.partitionChanges.WithLabelValues(role, "held").Inc()
	}
	return now.Sub(own.unwantedSince) < n.cfg.RebalanceDelay
}

func (n *Node) acquire(ctx context.Context, role string, p int, rev uint64, prev string, takeover bool) {
	key := events.OwnerKey(role, p)
	n.mu.Lock()
	l := Lease{Node: n.cfg.NodeID, Incarnation: n.incarnation, Since: time.Now().UTC()}
	n.mu.Unlock()
	b, _ := json.Marshal(l)
	kctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatInterval)
	var newRev uint64
	var err error
	if rev == 0 {
		newRev, err = n.st.Owners.Create(kctx, key, b)
	} else {
		newRev, err = n.st.Owners.Update(kctx, key, b, rev)
	}
	cancel()
	if err != nil {
		n.log.Debug("lease not taken", "role", role, "partition", p, "err", err)
		return
	}
	n.leases[key] = leaseEntry{l: l, rev: newRev}
	own := &ownership{rev: newRev}
	n.mu.Lock()
	if l.Incarnation != n.incarnation || !n.trustedLocked(time.Now()) {
		n.mu.Unlock()
		return // fenced meanwhile; the lease is dead with the incarnation
	}
	n.owned[role][p] = own
	n.subsPending = true
	count := len(n.owned[role])
	n.mu.Unlock()
	n.met.partitionsOwned.WithLabelValues(role).Set(float64(count))
	n.met.partitionChanges.WithLabelValues(role, "acquired").Inc()

	r := n.roles[role]
	start := time.Now()
	if err := r.TakeOver(ctx, p, takeover); err != nil {
		n.log.Error("takeover failed; handing the partition back", "role", role, "partition", p, "err", err)
		n.release(ctx, role, p, "rebalance")
		return
	}
	took := time.Since(start)
	n.met.takeoverSeconds.WithLabelValues(role).Observe(took.Seconds())
	sub, err := n.nc.Subscribe(events.PartitionPrefix(role, p)+".>", n.dispatcher(r, p, own))
	if err != nil {
		n.log.Error("subscribe failed; handing the partition back", "role", role, "partition", p, "err", err)
		n.release(ctx, role, p, "rebalance")
		return
	}
	own.mu.Lock()
	own.sub = sub
	own.mu.Unlock()
	n.log.Debug("partition acquired", "role", role, "partition", p, "previous_owner", prev, "takeover", takeover)
	ev := events.New(n.cfg.NodeID, &events.PartitionAcquired{
		Role: role, Partition: p, PreviousOwner: prev, Takeover: takeover,
		TakeoverMS: float64(took.Microseconds()) / 1000,
	})
	n.publish(ev)
}

// flushSubs makes sure the server knows every new subscription before the
// node reports ready.
func (n *Node) flushSubs() {
	n.mu.Lock()
	pending := n.subsPending
	n.mu.Unlock()
	if !pending {
		return
	}
	if err := n.nc.FlushTimeout(n.cfg.HeartbeatInterval); err != nil {
		return
	}
	n.mu.Lock()
	n.subsPending = false
	n.mu.Unlock()
}

// suspend stops handling p at a fence: a Suspender role keeps its state
// (see Suspender), any other role releases it as lost.
func (n *Node) suspend(role string, p int, inc string) {
	sr, ok := n.roles[role].(Suspender)
	if !ok {
		n.dropLocal(role, p, true)
		return
	}
	n.mu.Lock()
	own := n.owned[role][p]
	delete(n.owned[role], p)
	count := len(n.owned[role])
	if own != nil {
		if n.suspended[role] == nil {
			n.suspended[role] = map[int]suspension{}
		}
		n.suspended[role][p] = suspension{rev: own.rev, inc: inc}
	}
	n.mu.Unlock()
	if own == nil {
		return
	}
	own.mu.Lock()
	own.released = true
	if own.sub != nil {
		_ = own.sub.Unsubscribe()
	}
	own.mu.Unlock()
	n.met.partitionsOwned.WithLabelValues(role).Set(float64(count))
	n.met.partitionChanges.WithLabelValues(role, "suspended").Inc()
	sr.Suspend(p)
}

// settleSuspended decides the suspended partitions of role: one whose lease
// someone else took, or that stayed suspended too long, is released (lost);
// when the node is trusted again, one whose lease is untouched is renewed
// under the new incarnation and resumed.
func (n *Node) settleSuspended(ctx context.Context, role string, trusted bool) {
	n.mu.Lock()
	sus := maps.Clone(n.suspended[role])
	inc := n.incarnation
	n.mu.Unlock()
	// Once a renewal gets no answer, the bucket is not answering (its
	// leader is being elected): the others wait for the next turn instead
	// of a timeout each, and the loop stays quick to notice it is back.
	unanswered := false
	for p, s := range sus {
		key := events.OwnerKey(role, p)
		le, has := n.leases[key]
		switch settle(s, le, has, n.cfg.NodeID, inc, trusted) {
		case settleLost:
			n.log.Info("suspended partition lost", "role", role, "partition", p, "lease_node", le.l.Node)
			n.unsuspend(role, p, 0, "lost")
		case settleRenew:
			if !unanswered {
				unanswered = !n.renew(ctx, role, p, s.rev, inc)
			}
		case settleRenewed:
			n.unsuspend(role, p, le.rev, "resumed")
		}
	}
}

type settleAction int

const (
	settleWait    settleAction = iota // not trusted yet: keep it suspended
	settleLost                        // someone else's now
	settleRenew                       // untouched: renew it under the new incarnation
	settleRenewed                     // our renewal went through (its reply was lost): resume
)

// settle decides what becomes of a suspended partition, given the lease the
// watcher last delivered (le, if has), this node's id and current
// incarnation, and whether the node is trusted again.
//
// However long the suspension, a lease nobody touched is still ours: taking
// a partition over means writing its lease (compare-and-set), which the
// watcher shows us, and the renewal is a compare-and-set on the revision we
// held, so it fails if a write we have not seen yet came first. (Releasing
// such a partition after a while made the node take its own calls over, a
// re-INVITE each, after every JetStream election that outlasted that
// while.)
//
// A renewal whose reply is lost (JetStream electing the bucket's leader)
// may still be applied, later: the watcher then shows our lease under the
// current incarnation with a newer revision. That partition is ours, as if
// the reply had come. (Nothing else writes our lease under the current
// incarnation while the partition is suspended: reconcile leaves suspended
// partitions to this.)
func settle(s suspension, le leaseEntry, has bool, self, inc string, trusted bool) settleAction {
	mine := has && le.l.Node == self
	untouched := mine && le.rev == s.rev && le.l.Incarnation == s.inc
	renewed := mine && le.rev > s.rev && le.l.Incarnation == inc && inc != s.inc
	switch {
	case !untouched && !renewed:
		return settleLost
	case !trusted:
		return settleWait
	case renewed:
		return settleRenewed
	}
	return settleRenew
}

// renew takes back a suspended partition's untouched lease (compare-and-set
// on its revision) and resumes it; if that fails, the partition is lost.
// It reports false when the bucket did not answer (to try again later).
func (n *Node) renew(ctx context.Context, role string, p int, rev uint64, inc string) bool {
	key := events.OwnerKey(role, p)
	l := Lease{Node: n.cfg.NodeID, Incarnation: inc, Since: time.Now().UTC()}
	b, _ := json.Marshal(l)
	kctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatInterval)
	newRev, err := n.st.Owners.Update(kctx, key, b, rev)
	cancel()
	if err != nil {
		// The update may have been applied with its reply lost (JetStream
		// electing a leader, a slow server), and a retry of it then meets
		// its own revision: look.
		if r, ok := n.ownLease(ctx, key, inc); ok {
			newRev, err = r, nil
		} else if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			// No answer: try again at the next settle while the
			// suspension may last, rather than give up a partition nobody
			// else wants.
			n.log.Info("suspended partition not renewed yet", "role", role, "partition", p, "err", err)
			return false
		}
	}
	if err != nil {
		n.log.Info("suspended partition not renewed: someone moved its lease", "role", role, "partition", p, "err", err)
		n.unsuspend(role, p, 0, "lost")
		return true
	}
	n.leases[key] = leaseEntry{l: l, rev: newRev}
	n.unsuspend(role, p, newRev, "resumed")
	return true
}

// ownLease reports whether key holds our lease under incarnation inc, and
// its revision.
func (n *Node) ownLease(ctx context.Context, key, inc string) (uint64, bool) {
	kctx, cancel := context.WithTimeout(ctx, n.cfg.HeartbeatInterval)
	defer cancel()
	e, err := n.st.Owners.Get(kctx, key)
	if err != nil {
		return 0, false
	}
	var l Lease
	if json.Unmarshal(e.Value(), &l) != nil || l.Node != n.cfg.NodeID || l.Incarnation != inc {
		return 0, false
	}
	return e.Revision(), true
}

// unsuspend ends p's suspension: resumed with the renewed lease revision
// rev, or released as lost.
func (n *Node) unsuspend(role string, p int, rev uint64, how string) {
	n.mu.Lock()
	delete(n.suspended[role], p)
	n.mu.Unlock()
	r := n.roles[role]
	n.met.partitionChanges.WithLabelValues(role, how).Inc()
	if how != "resumed" {
		if err := r.Release(context.Background(), p, true); err != nil {
			n.log.Error("role release failed", "role", role, "partition", p, "err", err)
		}
		n.publish(events.New(n.cfg.NodeID, &events.PartitionReleased{Role: role, Partition: p, Reason: "lost"}))
		return
	}
	own := &ownership{rev: rev}
	sub, err := n.nc.Subscribe(events.PartitionPrefix(role, p)+".>", n.dispatcher(r, p, own))
	if err != nil {
		n.log.Error("resubscribe failed; dropping the partition", "role", role, "partition", p, "err", err)
		_ = r.Release(context.Background(), p, true)
		return
	}
	own.sub = sub
	n.mu.Lock()
	n.owned[role][p] = own
	n.subsPending = true
	count := len(n.owned[role])
	n.mu.Unlock()
	n.met.partitionsOwned.WithLabelValues(role).Set(float64(count))
	r.(Suspender).Resume(p)
	n.log.Info("partition resumed after a fence", "role", role, "partition", p)
}

// dropLocal stops owning p locally: no handler runs once it returns.
func (n *Node) dropLocal(role string, p int, lost bool) *ownership {
	n.mu.Lock()
	own := n.owned[role][p]
	delete(n.owned[role], p)
	count := len(n.owned[role])
	n.mu.Unlock()
	if own == nil {
		return nil
	}
	own.mu.Lock()
	own.released = true
	if own.sub != nil {
		_ = own.sub.Unsubscribe()
	}
	own.mu.Unlock()
	n.met.partitionsOwned.WithLabelValues(role).Set(float64(count))
	change := "released"
	if lost {
		change = "lost"
	}
	n.met.partitionChanges.WithLabelValues(role, change).Inc()
	if err := n.roles[role].Release(context.Background(), p, lost); err != nil {
		n.log.Error("role release failed", "role", role, "partition", p, "err", err)
	}
	if lost {
		n.publish(events.New(n.cfg.NodeID, &events.PartitionReleased{Role: role, Partition: p, Reason: "lost"}))
	}
	return own
}

// release hands p back: stop handling, let the role save, delete the lease.
func (n *Node) release(ctx context.Context, role string, p int, reason string) {
	own := n.dropLocal(role, p, false)
	if own == nil {
		return
	}
	n.deleteLease(ctx, events.OwnerKey(role, p), own.rev)
	n.log.Debug("partition released", "role", role, "partition", p, "reason", reason)
	n.publish(events.New(n.cfg.NodeID, &events.PartitionReleased{Role: role, Partition: p, Reason: reason}))
}

func (n *Node) deleteLease(ctx context.Context, key string, rev uint64) {
	if ctx.Err() != nil || !n.nc.IsConnected() {
		// Leaving, or cut off: the lease dies with our membership anyway.
		return
	}
	kctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := n.st.Owners.Delete(kctx, key, jetstream.LastRevision(rev)); err != nil {
		if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			// Our entry is stale: the watcher delivered our own put after
			// we had deleted the lease (or someone moved it on). Forget it;
			// the watcher brings the current value, if any. Retrying the
			// stale revision in every loop turn flooded KV with failing
			// deletes (a thousand in a second of startup churn).
			n.log.Debug("lease not deleted: revision moved on", "key", key, "rev", rev)
			delete(n.leases, key)
			return
		}
		n.log.Warn("lease not deleted", "key", key, "err", err)
		return
	}
	// Forget it now rather than when the watcher says so, so that the next
	// reconcile does not see our own lease and delete it again.
	delete(n.leases, key)
}

// fence drops every partition because our own membership may already look
// dead to the others, and rejoins under a new incarnation.
func (n *Node) fence() {
	n.log.Warn("membership not renewed in time: suspending or dropping all partitions and rejoining")
	n.mu.Lock()
	inc := n.incarnation
	n.mu.Unlock()
	for _, role := range n.cfg.Roles {
		for _, p := range n.ownedUnchecked(role) {
			n.suspend(role, p, inc)
		}
	}
	n.mu.Lock()
	n.incarnation = nuid.Next()
	n.seq = 0
	n.fenceAt = time.Time{}
	n.mu.Unlock()
}

func (n *Node) ownedUnchecked(role string) []int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]int, 0, len(n.owned[role]))
	for p := range n.owned[role] {
		out = append(out, p)
	}
	return out
}

// Drain hands every partition over (SIGTERM): the node marks itself
// draining, the others stop counting it in their rings, and it releases each
// partition as the ring no longer gives it. It returns when nothing is owned,
// or with ErrDrainTimeout. Cancel Run's context afterwards to leave.
func (n *Node) Drain(ctx context.Context) error {
	n.mu.Lock()
	n.draining = true
	n.mu.Unlock()
	n.log.Info("draining: handing partitions over")
	// Tell the others at once, so they stop counting us in their rings.
	select {
	case n.beat <- struct{}{}:
	default:
	}
	n.wake()
	ctx, cancel := context.WithTimeout(ctx, n.cfg.DrainTimeout)
	defer cancel()
	select {
	case <-n.drained:
		return nil
	case <-ctx.Done():
		left := 0
		for _, role := range n.cfg.Roles {
			left += len(n.ownedUnchecked(role))
		}
		return fmt.Errorf("%w: %d partitions still owned", ErrDrainTimeout, left)
	}
}

// leave gives back what is still owned and removes the membership key.
func (n *Node) leave() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n.mu.Lock()
	draining := n.draining
	n.mu.Unlock()
	reason, left := "stopped", "stopped"
	if draining {
		reason, left = "drain", "drained"
	}
	for _, role := range n.cfg.Roles {
		for _, p := range n.ownedUnchecked(role) {
			n.release(ctx, role, p, reason)
		}
		n.mu.Lock()
		sus := slices.Collect(maps.Keys(n.suspended[role]))
		n.mu.Unlock()
		for _, p := range sus {
			n.unsuspend(role, p, 0, "lost")
		}
	}
	if err := n.st.Nodes.Delete(ctx, n.cfg.NodeID); err != nil {
		n.log.Warn("membership not removed", "err", err)
	}
	n.publish(events.New(n.cfg.NodeID, &events.NodeLeft{Reason: left}))
	_ = n.nc.FlushTimeout(time.Second)
	n.mu.Lock()
	n.fenceAt = time.Time{}
	n.synced = false
	n.mu.Unlock()
	n.log.Info("left the cluster", "reason", left)
}

func (n *Node) publish(e events.Event) {
	if err := events.Publish(n.nc, events.NodeEventSubject(n.cfg.NodeID, e.Data.EventName()), e); err != nil {
		n.log.Debug("event not published", "type", e.Type, "err", err)
	}
}
