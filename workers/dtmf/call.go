package dtmf

import (
	"time"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers/dtmf/digit"
	"github.com/switchboard-voip/switchboard/workers/dtmf/feed"
	"github.com/switchboard-voip/switchboard/workers/dtmf/inband"
	"github.com/switchboard-voip/switchboard/workers/dtmf/rfc4733"
)

// call is the detector state of one call.
type call struct {
	id   string
	seq  uint64    // the last press's number
	last time.Time // when a record of it last came

	rx     *rfc4733.Receiver // created by the first telephone-event
	inband *inband.Detector  // created by the first pcm record
	pcm    []int16
	out    []digit.Event

	// open is the seq of the press in progress per source (0: none), so
	// that its dtmf carries the seq of its dtmf_started.
	open map[string]uint64
	// at is when the packet that started or ended a press arrived at
	// the media worker, for the latency histogram.
	at time.Time

	gather *gather
}

func newCall(id string) *call { return &call{id: id, open: map[string]uint64{}} }

func (r *Role) onRTP(pt *partition, c *call, h feed.Header, body []byte, now time.Time) {
	p, err := feed.ParseRTP(body)
	if err != nil {
		r.met.errors.WithLabelValues("malformed_record").Inc()
		return
	}
	if c.rx == nil {
		rate := p.ClockRate
		if rate == 0 {
			rate = 8000
		}
		if c.rx, err = rfc4733.NewReceiver(rfc4733.ReceiverConfig{ClockRate: rate}); err != nil {
			r.met.errors.WithLabelValues("receiver").Inc()
			return
		}
	}
	c.at = h.At
	c.out, err = c.rx.Push(c.out[:0], rfc4733.Packet{SSRC: p.SSRC, SequenceNumber: p.Seq, Timestamp: p.Timestamp, Marker: p.Marker, Payload: p.Payload}, h.At)
	if err != nil {
		r.met.errors.WithLabelValues("malformed_telephone_event").Inc()
	}
	r.report(pt, c, events.DTMFSourceRFC4733, c.out, now)
}

func (r *Role) onInfo(pt *partition, c *call, h feed.Header, body []byte, now time.Time) {
	i, err := feed.ParseInfo(body)
	if err != nil {
		r.met.errors.WithLabelValues("malformed_record").Inc()
		return
	}
	d, err := digit.Parse(i.Digit)
	if err != nil {
		r.met.errors.WithLabelValues("bad_info_digit").Inc()
		return
	}
	c.at = h.At
	c.out = append(c.out[:0], digit.Event{Kind: digit.Ended, Digit: d, Duration: i.Duration})
	r.report(pt, c, events.DTMFSourceSIPInfo, c.out, now)
}

func (r *Role) onPCM(pt *partition, c *call, h feed.Header, body []byte, now time.Time) {
	var err error
	if c.pcm, err = feed.ParsePCM(c.pcm[:0], body); err != nil {
		r.met.errors.WithLabelValues("malformed_record").Inc()
		return
	}
	if c.inband == nil {
		if c.inband, err = inband.New(inband.Config{}); err != nil {
			r.met.errors.WithLabelValues("detector").Inc()
			return
		}
	}
	c.at = h.At
	c.out = c.inband.Write(c.out[:0], c.pcm)
	r.report(pt, c, events.DTMFSourceInband, c.out, now)
}

// expire ends RFC 4733 presses whose end packets were lost.
func (r *Role) expire(pt *partition, c *call, now time.Time) {
	if c.rx == nil || !c.rx.Active() {
		return
	}
	c.at = now
	c.out = c.rx.Expire(c.out[:0], now)
	r.report(pt, c, events.DTMFSourceRFC4733, c.out, now)
}

// flush ends what is in progress when the call ends.
func (r *Role) flush(pt *partition, c *call, now time.Time) {
	c.at = now
	if c.rx != nil {
		c.out = c.rx.Flush(c.out[:0])
		r.report(pt, c, events.DTMFSourceRFC4733, c.out, now)
	}
	if c.inband != nil {
		c.out = c.inband.Flush(c.out[:0])
		r.report(pt, c, events.DTMFSourceInband, c.out, now)
	}
}

// report publishes the detectors' events: one seq per press, dtmf_started
// then dtmf; a press that ends without having started (SIP INFO) gets a
// seq of its own.
func (r *Role) report(pt *partition, c *call, source string, evs []digit.Event, now time.Time) {
	for _, e := range evs {
		switch e.Kind {
		case digit.Started:
			c.seq++
			c.open[source] = c.seq
			r.publish(pt, c.id, &events.CallDTMFStarted{Digit: e.Digit.String(), Source: source, Seq: c.seq})
			r.met.latency.WithLabelValues("started").Observe(now.Sub(c.at).Seconds())
		case digit.Ended:
			seq := c.open[source]
			if seq == 0 {
				c.seq++
				seq = c.seq
			}
			delete(c.open, source)
			r.publish(pt, c.id, &events.CallDTMF{Digit: e.Digit.String(), DurationMS: int(e.Duration / time.Millisecond), Source: source, Seq: seq})
			r.met.latency.WithLabelValues("ended").Observe(now.Sub(c.at).Seconds())
			r.met.digits.WithLabelValues(source).Inc()
			if c.gather != nil {
				r.gatherDigit(pt, c, byte(e.Digit), now)
			}
		}
	}
}
