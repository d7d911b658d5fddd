// Package mixer is the mix-minus mixer of one conference: once per 20 ms
// tick it takes one PCM frame from each member that sent one and gives
// every member that listens the sum of everyone else.
//
// # Mix-minus without dividing by N
//
// Frames are summed in int32 and never divided by the number of members,
// so one speaker comes out at the same level in a room of 2 as in a room
// of 100. When several loud members talk at once the sum can exceed full
// scale: a look-ahead-free peak limiter (fast attack, slow release) with a
// threshold at Config.Knee (−3 dBFS by default) brings the level down
// smoothly, and a tanh soft clip above the same knee catches what the
// limiter's attack lets through, so the output never wraps and never
// hard-clips. Below the knee the output is bit-exact: a single −6 dBFS
// voice passes untouched.
//
// # Speakers and listeners: encode once per group
//
// A member whose frame is mixed this tick is a speaker; every other member
// is a listener. Listeners all hear the same thing, the sum of every
// speaker, so Mix returns that sum once (Output.Everyone) together with
// the listeners grouped by Settings.Group: the caller encodes Everyone once
// per group (members with the same codec and settings) and sends the same
// payload to each member of the group. Only speakers get an individual
// mix-minus (Output.Speakers). The cost of a tick is therefore
// O(speakers × samples + members), not O(members²): a room of one speaker
// and 99 listeners mixes two streams, not 100.
//
// A member is a speaker in a tick when it is not muted and the caller Put
// a frame for it. The caller decides what counts as speech: a member whose
// frame its voice activity detector calls silence should not be Put, and
// then hears the shared mix like any listener.
//
// # No clicks
//
// A member's audio fades in over Config.Fade (5 ms) when it joins, is
// unmuted, or sends again after a tick without a frame, and fades out when
// it is muted or removed. When a member stops sending, its last sample
// ramps down to zero over the same time instead of stepping to silence.
//
// # Use
//
// A Mixer is driven by one goroutine, the conference's 20 ms clock: Put the
// frames that arrived in time, call Mix, encode and send the output, and
// repeat. It is not safe for concurrent use. Mix does not allocate in
// steady state: its output and the buffers it points into are reused, and
// valid until the next call to Mix.
package mixer
