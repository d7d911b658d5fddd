// Package conference is the conference worker role: it owns the
// conferences that hash to its partitions (Partition(conference name)),
// mixes them every 20 ms with package mixer (mix-minus, one shared encoding
// per codec for the listeners), detects who talks with package vad, and
// executes the conference commands.
//
// Audio never passes through a host name: a member's media worker
// publishes 20 ms PCM frames (package frame) at the room's rate on
// sb.conf.<room>.in.<member>, and the mixer publishes what the member hears,
// encoded in the member's codec, on sb.conf.<room>.out.<member>. A member
// is attached and detached with MemberAttach requests to its call's media
// partition (sb.p.<p>.conf); a media worker reports a member's call ending
// with MemberGone on the conference's partition (sb.conference.p.<p>.member).
// See docs/conference.md.
//
// State that a new owner needs (the members and their flags) is written to
// the sb_conferences KV bucket at every change; TakeOver reads it and goes
// on mixing, and since the members' media workers publish to subjects named
// by room and member, nothing has to be re-signalled.
//
// Concurrency: commands and MemberGone messages of a partition arrive on
// the runtime's goroutine for it and take the partition's mutex, as does
// the liveness checker; each conference has one clock goroutine, and its
// frames arrive on its subscription's goroutine: both take the
// conference's mutex (lock order: partition, then conference).
package conference
