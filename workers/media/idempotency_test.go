package media

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/test/natstest"
)

// TestIdemStoreSharesRepliesThroughKV: a reply kept by one owner of a
// partition is found by the next (a fresh store on the same bucket); a
// 5xx is not kept; a record whose key is not the one asked (a hash
// collision) is not taken.
func TestIdemStoreSharesRepliesThroughKV(t *testing.T) {
	nc := natstest.Connect(t, natstest.Run(t))
	js, _ := jetstream.New(nc)
	kv, err := js.CreateKeyValue(context.Background(), jetstream.KeyValueConfig{Bucket: events.BucketIdempotency, TTL: IdempotencyTTL})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	a := newIdemStore(3, kv, func(err error) { errs = append(errs, err) })
	b := newIdemStore(3, kv, func(err error) { errs = append(errs, err) })
	ok := []byte(`{"code":202,"reason":"dialing","call_id":"x@y"}`)
	a.put("dial/k1", ok)
	a.put("dial/k2", []byte(`{"code":503,"reason":"no RTP ports"}`))
	if got, found := b.get("dial/k1"); !found || string(got) != string(ok) {
		t.Errorf("next owner: %q %v, want %q", got, found, ok)
	}
	if got, found := b.get("dial/k2"); found {
		t.Errorf("a 503 was kept: %q", got)
	}
	if _, found := b.get("hangup/k1"); found {
		t.Error("another verb's key answered")
	}
	// A record under k3's hash that answers another key.
	rec, _ := json.Marshal(idemRecord{Key: "dial/other", Reply: ok})
	if _, err := kv.Put(context.Background(), b.kvKey("dial/k3"), rec); err != nil {
		t.Fatal(err)
	}
	if _, found := b.get("dial/k3"); found {
		t.Error("a record of another key was taken")
	}
	if len(errs) != 0 {
		t.Errorf("KV errors: %v", errs)
	}
}

// TestIdempotentDialSurvivesMove: a dial with an idempotency key is
// answered 202 by the partition's owner; the owner leaves and another node
// takes the partition; the same dial again (an application retrying after
// a lost reply) gets the first reply, the same call, and places no second
// call.
func TestIdempotentDialSurvivesMove(t *testing.T) {
	rg := newRig(t)
	// A SIP URI where nothing answers: the dial's call fails by itself;
	// what matters is the command's reply.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	body := map[string]any{"to": "sip:nobody@" + pc.LocalAddr().String(), "idempotency_key": "order-7781", "timeout": 1}
	b, _ := json.Marshal(body)
	subject := events.PartitionCommandSubject(events.RoleMedia, events.Partition("order-7781", rigPartitions), "dial")
	m, err := rg.nc.Request(subject, b, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var first events.DialReply
	if err := json.Unmarshal(m.Data, &first); err != nil {
		t.Fatal(err)
	}
	if first.Code != 202 || first.CallID == "" || first.Node != "m1" {
		t.Fatalf("dial: %+v", first)
	}
	n2 := rg.addNode("m2")
	rg.first.stop()
	var again events.DialReply
	natstest.CheckFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		// A retry meanwhile may find no owner (503); the application retries.
		m, err := rg.nc.Request(subject, b, time.Second)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(m.Data, &again); err != nil {
			return err
		}
		if again.Code >= 500 {
			return fmt.Errorf("retry: %+v", again)
		}
		return nil
	})
	t.Logf("first: %+v; after the move: %+v", first, again)
	if again.Code != 202 || again.CallID != first.CallID {
		t.Fatalf("the retry after the move got %+v, want the first reply (call %s)", again, first.CallID)
	}
	// m2 placed no call of its own.
	mfs, err := n2.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "sb_calls_started_total" {
			for _, m := range mf.GetMetric() {
				if v := m.GetCounter().GetValue(); v != 0 {
					t.Errorf("m2 started %v calls for the retried dial", v)
				}
			}
		}
	}
}
