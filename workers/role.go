package workers

import (
	"context"

	"github.com/nats-io/nats.go"
)

// Role is what a worker role (media, conference, dtmf) plugs into the
// runtime. The runtime calls a role's methods for partition p only while it
// owns p, and never concurrently for the same partition: messages of one
// partition are delivered in order on one subscription.
type Role interface {
	// Name is the role's name; it selects the partition space and ring.
	Name() string
	// TakeOver is called after the lease of p was acquired and before p's
	// subjects are subscribed. It loads what the partition's previous owner
	// wrote to KV (calls, dialogs, members) and resumes it. takeover is true
	// when the previous owner died holding the lease.
	TakeOver(ctx context.Context, p int, takeover bool) error
	// Release is called after p's subscription was drained and before its
	// lease is given back: write anything not yet in KV. lost is true when the
	// node fenced itself and no longer may write.
	Release(ctx context.Context, p int, lost bool) error
	// HandleMessage takes a message published on one of p's subjects
	// (e.g. sb.p.<p>.sip). kind is the subject after the partition prefix.
	HandleMessage(p int, kind string, msg *nats.Msg)
	// HandleCommand takes command verb routed to p. It returns false if the
	// role does not implement verb; the runtime then replies 501.
	HandleCommand(p int, verb string, msg *nats.Msg) bool
}

// Suspender is a role whose partitions can outlive a fence. A node that
// misses its own heartbeat deadline (its NATS server died, the membership
// bucket is electing a leader, the process was starved of CPU) may no
// longer act for its partitions; a Suspender keeps their state and media
// running meanwhile, and gets them back without a takeover if nobody took
// them. Roles that are not Suspenders are released (lost) at a fence.
type Suspender interface {
	// Suspend is called when the node fenced itself, after p's
	// subscription was dropped: stop timers and KV writes of p, keep its
	// state and running media.
	Suspend(p int)
	// Resume is called when the node, trusted again under a new
	// incarnation, found p's lease untouched and renewed it: go on as
	// before. If the lease was taken meanwhile (or could not be renewed),
	// Release(ctx, p, true) is called instead.
	Resume(p int)
}

// Holder is a role whose partitions are costly to move while they hold
// work: the media role's calls each need a re-INVITE. The runtime keeps a
// busy partition for up to Config.RebalanceDelay when the ring gives it to a
// node that joined (see Node), instead of moving its calls at once.
type Holder interface {
	// Busy reports whether p has state that moving would disturb
	// (answered calls). Called from the runtime's loop: keep it cheap.
	Busy(p int) bool
}

// BaseRole owns partitions for a role whose call logic is not running in
// this build: it keeps no state, answers no commands (501) and ignores
// messages. Real roles embed it to inherit the no-op parts.
type BaseRole struct{ RoleName string }

// Name implements Role.
func (b BaseRole) Name() string { return b.RoleName }

// TakeOver implements Role: nothing to load.
func (BaseRole) TakeOver(context.Context, int, bool) error { return nil }

// Release implements Role: nothing to save.
func (BaseRole) Release(context.Context, int, bool) error { return nil }

// HandleMessage implements Role: drops the message.
func (BaseRole) HandleMessage(int, string, *nats.Msg) {}

// HandleCommand implements Role: implements no verb.
func (BaseRole) HandleCommand(int, string, *nats.Msg) bool { return false }
