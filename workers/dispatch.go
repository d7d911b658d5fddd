package workers

import (
	"encoding/json"
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/switchboard-voip/switchboard/events"
)

// dispatcher delivers the messages of one owned partition to its role.
// Commands get a reply whatever happens; other messages are the role's.
func (n *Node) dispatcher(r Role, p int, own *ownership) nats.MsgHandler {
	prefix := events.PartitionPrefix(r.Name(), p) + "."
	return func(msg *nats.Msg) {
		own.mu.RLock()
		defer own.mu.RUnlock()
		if own.released || !n.owns(r.Name(), p) {
			return // not ours any more: the sender's retry finds the new owner
		}
		kind := strings.TrimPrefix(msg.Subject, prefix)
		verb, isCmd := strings.CutPrefix(kind, "cmd.")
		if !isCmd {
			r.HandleMessage(p, kind, msg)
			return
		}
		if verb == "locate" {
			n.respond(msg, events.LocateReply{Reply: n.reply(p, events.CodeOK, "OK"), Role: r.Name()})
			return
		}
		if !r.HandleCommand(p, verb, msg) {
			n.respond(msg, n.reply(p, events.CodeNotImplemented, "command "+verb+" is not implemented by role "+r.Name()))
		}
	}
}

func (n *Node) reply(p, code int, reason string) events.Reply {
	return events.Reply{Code: code, Reason: reason, Node: n.cfg.NodeID, Partition: &p}
}

func (n *Node) respond(msg *nats.Msg, v any) {
	if msg.Reply == "" {
		return
	}
	b, _ := json.Marshal(v)
	_ = msg.Respond(b)
}
