package conference

import (
	"strings"

	"github.com/switchboard-voip/switchboard/workers/conference/frame"
	"github.com/switchboard-voip/switchboard/workers/media/codec"
	"github.com/switchboard-voip/switchboard/workers/media/resample"
)

// parseCodec reads a codec as a MemberAttachReply names it ("PCMU/8000",
// "PCMA/8000", "opus/48000"; the name compared ignoring case, RFC 4566 §6).
func parseCodec(s string) (frame.Codec, bool) {
	name, _, _ := strings.Cut(s, "/")
	switch {
	case strings.EqualFold(name, "PCMU"):
		return frame.PCMU, true
	case strings.EqualFold(name, "PCMA"):
		return frame.PCMA, true
	case strings.EqualFold(name, "opus"):
		return frame.Opus, true
	}
	return frame.PCM, false
}

// encoder turns one output stream of the mixer (20 ms at the room's rate)
// into payloads of a member's codec: G.711 is resampled to 8 kHz first
// (one streaming resampler per encoder, so frames join without a step),
// Opus is encoded at the room's rate. It keeps its buffers, so encoding
// allocates nothing.
type encoder struct {
	codec   frame.Codec
	rate    int // of the payload's samples: 8000 for G.711, the room's for Opus
	samples int // per 20 ms payload
	rs      *resample.Resampler
	enc     codec.Encoder
	pcm     []int16 // resampled frame
	payload []byte
}

func newEncoder(c frame.Codec, roomRate int, opus codec.OpusConfig) (*encoder, error) {
	e := &encoder{codec: c, payload: make([]byte, codec.MaxPayload)}
	var err error
	switch c {
	case frame.PCMU, frame.PCMA:
		e.rate = codec.G711Rate
		if e.rs, err = resample.New(roomRate, codec.G711Rate); err != nil {
			return nil, err
		}
		e.pcm = make([]int16, e.rs.MaxOutLen(roomRate/50))
		if c == frame.PCMU {
			e.enc = codec.NewPCMUEncoder()
		} else {
			e.enc = codec.NewPCMAEncoder()
		}
	case frame.Opus:
		e.rate = roomRate
		if opus.Bitrate == 0 {
			opus = codec.DefaultOpusConfig(roomRate)
		}
		if e.enc, err = codec.NewOpusEncoder(roomRate, opus); err != nil {
			return nil, err
		}
	default:
		return nil, codec.ErrUnknownCodec
	}
	e.samples = e.rate / 50
	return e, nil
}

// encode encodes one 20 ms frame at the room's rate. The payload is valid
// until the next call.
func (e *encoder) encode(pcm []int16) ([]byte, error) {
	if e.rs != nil {
		n, err := e.rs.Process(e.pcm, pcm)
		if err != nil {
			return nil, err
		}
		pcm = e.pcm[:n]
	}
	n, err := e.enc.Encode(pcm, e.payload)
	if err != nil {
		return nil, err
	}
	return e.payload[:n], nil
}
