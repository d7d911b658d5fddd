package codec

import (
	"errors"
	"fmt"
	"sync/atomic"

	"gopkg.in/hraban/opus.v2"
)

// OpusEncoder encodes mono PCM at an internal rate of 8, 16 or 48 kHz to
// Opus packets of one frame each (RFC 6716), with libopus through
// gopkg.in/hraban/opus.v2, in the VOIP application (speech-tuned: SILK at
// these bitrates, with noise shaping aimed at intelligibility).
//
// Encode runs on one goroutine, but SetBitrate, SetComplexity and
// SetPacketLossPerc may be called from any: they only record the new
// value, and the next Encode hands it to libopus. A CPU governor can so
// turn down the complexity of every call from its own goroutine without a
// lock on the media path.
type OpusEncoder struct {
	enc  *opus.Encoder
	rate int
	dtx  bool
	fec  bool

	// Requested settings, written by the setters.
	wantBitrate, wantComplexity, wantLoss atomic.Int32
	// Settings libopus has, touched only by Encode.
	bitrate, complexity, loss int32
}

// NewOpusEncoder returns an encoder at rate (8000, 16000 or 48000 Hz) with
// cfg's settings.
func NewOpusEncoder(rate int, cfg OpusConfig) (*OpusEncoder, error) {
	if !opusRate(rate) {
		return nil, ErrRate
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	enc, err := opus.NewEncoder(rate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCodec, err)
	}
	e := &OpusEncoder{enc: enc, rate: rate, dtx: cfg.DTX, fec: cfg.FEC}
	if err := errors.Join(
		enc.SetBitrate(cfg.Bitrate),
		enc.SetComplexity(cfg.Complexity),
		enc.SetInBandFEC(cfg.FEC),
		enc.SetPacketLossPerc(cfg.PacketLossPerc),
		enc.SetDTX(cfg.DTX),
	); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCodec, err)
	}
	e.bitrate, e.complexity, e.loss = int32(cfg.Bitrate), int32(cfg.Complexity), int32(cfg.PacketLossPerc)
	e.wantBitrate.Store(e.bitrate)
	e.wantComplexity.Store(e.complexity)
	e.wantLoss.Store(e.loss)
	return e, nil
}

// opusRate reports whether Opus runs at rate here. libopus also takes
// 12 and 24 kHz, which no leg of ours uses.
func opusRate(rate int) bool {
	return rate == 8000 || rate == 16000 || rate == 48000
}

// SampleRate returns the internal rate.
func (e *OpusEncoder) SampleRate() int { return e.rate }

// Encode encodes one frame of 10, 20, 40 or 60 ms (the durations
// RFC 7587 §4.2's ptime values map to; Opus's 2.5 and 5 ms frames are not
// offered) into payload and returns its length. With DTX on, a result of
// one or two bytes means silence that need not be sent. libopus treats
// len(payload) as a cap on this packet's size and lowers the quality to
// fit rather than fail: give it MaxPayload bytes.
func (e *OpusEncoder) Encode(pcm []int16, payload []byte) (int, error) {
	switch len(pcm) * 1000 / e.rate {
	case 10, 20, 40, 60:
		if len(pcm)*1000%e.rate != 0 {
			return 0, ErrFrameSize
		}
	default:
		return 0, ErrFrameSize
	}
	if len(payload) == 0 {
		return 0, ErrShortBuffer
	}
	if err := e.apply(); err != nil {
		return 0, err
	}
	// libopus may use up to cap(payload): cap it at len.
	n, err := e.enc.Encode(pcm, payload[:len(payload):len(payload)])
	if err != nil {
		if errors.Is(err, opus.ErrBufferTooSmall) {
			return 0, ErrShortBuffer
		}
		return 0, fmt.Errorf("%w: %v", ErrCodec, err)
	}
	return n, nil
}

// apply hands changed settings to libopus.
func (e *OpusEncoder) apply() error {
	var err error
	if v := e.wantBitrate.Load(); v != e.bitrate {
		if err = e.enc.SetBitrate(int(v)); err == nil {
			e.bitrate = v
		}
	}
	if v := e.wantComplexity.Load(); v != e.complexity && err == nil {
		if err = e.enc.SetComplexity(int(v)); err == nil {
			e.complexity = v
		}
	}
	if v := e.wantLoss.Load(); v != e.loss && err == nil {
		if err = e.enc.SetPacketLossPerc(int(v)); err == nil {
			e.loss = v
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCodec, err)
	}
	return nil
}

// SetBitrate changes the target bitrate (6000-510000 b/s) from the next
// frame on, for congestion or CPU adaptation. Safe from any goroutine.
func (e *OpusEncoder) SetBitrate(bps int) error {
	if err := checkBitrate(bps); err != nil {
		return err
	}
	e.wantBitrate.Store(int32(bps))
	return nil
}

// SetComplexity changes the complexity (0-10) from the next frame on: the
// way to cut the encoder's CPU by up to half (docs/codecs.md) before
// frames start being late. Safe from any goroutine.
func (e *OpusEncoder) SetComplexity(c int) error {
	if err := checkComplexity(c); err != nil {
		return err
	}
	e.wantComplexity.Store(int32(c))
	return nil
}

// SetPacketLossPerc changes the loss the encoder plans FEC for (0-100 %)
// from the next frame on, typically from the fraction lost in the far
// end's RTCP receiver reports. Safe from any goroutine.
func (e *OpusEncoder) SetPacketLossPerc(p int) error {
	if err := checkLoss(p); err != nil {
		return err
	}
	e.wantLoss.Store(int32(p))
	return nil
}

// Config returns the settings in force from the next frame on.
func (e *OpusEncoder) Config() OpusConfig {
	return OpusConfig{
		Bitrate:        int(e.wantBitrate.Load()),
		Complexity:     int(e.wantComplexity.Load()),
		FEC:            e.fec,
		PacketLossPerc: int(e.wantLoss.Load()),
		DTX:            e.dtx,
	}
}
