package events

import (
	"encoding/json"

	"github.com/nats-io/nats.go"
)

// Publish encodes e and publishes it on subject. The event stream captures
// every sb.evt.> subject, so a plain publish is enough to make it replayable.
// The event id doubles as the JetStream de-duplication id.
func Publish(nc *nats.Conn, subject string, e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	m := nats.NewMsg(subject)
	m.Data = b
	m.Header.Set(nats.MsgIdHdr, e.ID)
	m.Header.Set("Sb-Type", e.Type)
	return nc.PublishMsg(m)
}
