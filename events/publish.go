package events

import (
	"encoding/json"

	"github.com/nats-io/nats.go"
)

// Publish encodes e and publishes it on subject. The event stream captures
// every sb.evt.> subject. With a Publisher started on nc the publication is
// confirmed by the stream (and retried until it is); without one it is a
// plain publish. The event id doubles as the JetStream de-duplication id.
func Publish(nc *nats.Conn, subject string, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	m := nats.NewMsg(subject)
	m.Data = b
	m.Header.Set(nats.MsgIdHdr, e.ID)
	m.Header.Set("Sb-Type", e.Type)
	if p := publisherOf(nc); p != nil {
		if p.enqueue(m) {
			return nil
		}
		p.Unconfirmed.Add(1)
	}
	return nc.PublishMsg(m)
}
