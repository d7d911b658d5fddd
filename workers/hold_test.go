package workers_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/leak"
	"github.com/switchboard-voip/switchboard/test/natstest"
	"github.com/switchboard-voip/switchboard/workers"
	"github.com/switchboard-voip/switchboard/workers/ring"
)

// busyRole is a Holder whose even partitions are busy (have calls).
type busyRole struct{ workers.BaseRole }

func (busyRole) Busy(p int) bool { return p%2 == 0 }

// TestReturningNodeWaitsForBusyPartitions: a worker that drains and comes
// straight back (a rolling restart) gets its idle partitions back at once,
// but its busy ones only after RebalanceDelay, so that their calls, moved
// once when it left, do not move a second time the moment it returns.
func TestReturningNodeWaitsForBusyPartitions(t *testing.T) {
	leak.Check(t)
	s := natstest.Run(t)
	const delay = 2 * time.Second
	startHolding := func(id string) (*workers.Node, context.CancelFunc, chan error) {
		c := cfg(id)
		c.Roles, c.RebalanceDelay = []string{events.RoleMedia}, delay
		n, err := workers.New(context.Background(), natstest.Connect(t, s), c,
			[]workers.Role{busyRole{workers.BaseRole{RoleName: events.RoleMedia}}}, workers.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- n.Run(ctx) }()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("node did not stop")
			}
		})
		return n, cancel, done
	}
	a, _, _ := startHolding("node-a")
	b, stopB, doneB := startHolding("node-b")
	rg := ring.New([]string{"node-a", "node-b"}, 160, 5)
	var bBusy, bIdle []int // what the ring gives b
	for p := range P {
		if rg.Owner(p) == "node-b" {
			if p%2 == 0 {
				bBusy = append(bBusy, p)
			} else {
				bIdle = append(bIdle, p)
			}
		}
	}
	natstest.CheckFor(t, 10*time.Second, 20*time.Millisecond, func() error {
		if got := len(b.Owned(events.RoleMedia)); got != len(bBusy)+len(bIdle) || len(a.Owned(events.RoleMedia))+got != P {
			return fmt.Errorf("a %d, b %d", len(a.Owned(events.RoleMedia)), got)
		}
		return nil
	})

	if a.Others(events.RoleMedia) != 1 || b.Others(events.RoleMedia) != 1 {
		t.Errorf("Others: a sees %d, b %d; want 1 each", a.Others(events.RoleMedia), b.Others(events.RoleMedia))
	}
	if err := b.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	stopB()
	<-doneB
	doneB <- nil // for the cleanup
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if got := len(a.Owned(events.RoleMedia)); got != P {
			return fmt.Errorf("a owns %d after b drained; want all %d", got, P)
		}
		return nil
	})

	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if k := a.Others(events.RoleMedia); k != 0 {
			return fmt.Errorf("a sees %d other media nodes after b drained", k)
		}
		return nil
	})
	b2, _, _ := startHolding("node-b")
	back := time.Now()
	natstest.CheckFor(t, 5*time.Second, 20*time.Millisecond, func() error {
		if got := b2.Owned(events.RoleMedia); len(got) != len(bIdle) {
			return fmt.Errorf("returned b owns %d partitions, want its %d idle ones", len(got), len(bIdle))
		}
		return nil
	})
	for _, p := range b2.Owned(events.RoleMedia) {
		if p%2 == 0 {
			t.Errorf("returned b took busy partition %d at once", p)
		}
	}
	if time.Since(back) < delay {
		for _, p := range bBusy {
			if !slices.Contains(a.Owned(events.RoleMedia), p) {
				t.Errorf("a gave busy partition %d away before the rebalance delay", p)
			}
		}
	}
	// After the delay the busy ones follow.
	natstest.CheckFor(t, delay+5*time.Second, 20*time.Millisecond, func() error {
		if got := len(b2.Owned(events.RoleMedia)); got != len(bBusy)+len(bIdle) {
			return fmt.Errorf("b owns %d of its %d", got, len(bBusy)+len(bIdle))
		}
		return nil
	})
	if took := time.Since(back); took < delay {
		t.Errorf("busy partitions moved %v after b returned; want after the %v delay", took, delay)
	}
}
