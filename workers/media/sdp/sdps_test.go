package sdp_test

import "strings"

// Real descriptions, or close reconstructions of what the named stacks
// send, written with LF; tests feed them with CRLF (as on the wire) and LF.

// sippOffer is sipp's uac_pcap scenario offer.
const sippOffer = `v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
`

// sippDefaultOffer is the offer of sipp's built-in uac scenario.
const sippDefaultOffer = `v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
`

// baresipOffer is baresip 1.0 with opus, G.711, telephone-event at both
// rates and rtcp-mux.
const baresipOffer = `v=0
o=- 1929581011 1426163963 IN IP4 192.168.1.20
s=-
c=IN IP4 192.168.1.20
t=0 0
a=tool:baresip 1.0.0
m=audio 10106 RTP/AVP 96 0 8 101 102
b=AS:96
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/48000
a=fmtp:101 0-15
a=rtpmap:102 telephone-event/8000
a=fmtp:102 0-15
a=rtcp-rsize
a=rtcp-mux
a=ssrc:1185352453 cname:sip:alice@example.com
a=label:1
a=sendrecv
a=ptime:20
`

// chromiumOffer is a Chromium WebRTC audio offer: DTLS-SRTP with ICE.
const chromiumOffer = `v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
a=extmap-allow-mixed
a=msid-semantic: WMS 6b3f9a2c-stream
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1467250027 1 udp 2122260223 192.168.1.20 46243 typ host generation 0 network-id 1
a=ice-ufrag:aQ3h
a=ice-pwd:Yx1d6kY2l0m7wXcJ5cBvQ2pE
a=ice-options:trickle
a=fingerprint:sha-256 4A:9C:11:0D:5E:7B:2F:88:A3:60:CC:19:E4:52:7D:0A:B1:3E:9F:44:06:D8:21:7C:95:EA:3B:60:1F:C2:84:5D
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time
a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:6b3f9a2c-stream 0d2f8e61-track
a=rtcp-mux
a=rtcp-rsize
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:3735928559 cname:Wq8kIv2Rr1H3Jd0s
a=ssrc:3735928559 msid:6b3f9a2c-stream 0d2f8e61-track
`

// linphoneAVOffer is Linphone offering audio and video.
const linphoneAVOffer = `v=0
o=alice 2765 1537 IN IP4 192.168.1.50
s=Talk
c=IN IP4 192.168.1.50
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96 97
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
a=rtcp-fb:96 nack pli
`

// asteriskHoldOffer is Asterisk putting the call on hold with a=sendonly;
// it prefers PCMA.
const asteriskHoldOffer = `v=0
o=root 1821 1822 IN IP4 10.0.0.5
s=Asterisk PBX 18.0.0
c=IN IP4 10.0.0.5
t=0 0
m=audio 14000 RTP/AVP 8 0 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=maxptime:150
a=sendonly
`

// polycomInactiveOffer is a re-offer with a=inactive.
const polycomInactiveOffer = `v=0
o=- 1634567890 1634567891 IN IP4 172.16.4.21
s=Polycom IP Phone
c=IN IP4 172.16.4.21
t=0 0
a=inactive
m=audio 2222 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
`

// rfc2543HoldOffer is an old gateway holding with c=0.0.0.0.
const rfc2543HoldOffer = `v=0
o=CiscoSystemsSIP-GW-UserAgent 4010 2504 IN IP4 172.16.0.10
s=SIP Call
c=IN IP4 0.0.0.0
t=0 0
m=audio 18456 RTP/AVP 0 101
c=IN IP4 0.0.0.0
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
`

// ipv6Offer is an IPv6-only endpoint with an explicit a=rtcp.
const ipv6Offer = `v=0
o=- 3836512425 3836512425 IN IP6 2001:db8::10
s=-
c=IN IP6 2001:db8::10
t=0 0
m=audio 40000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=rtcp:40101 IN IP6 2001:db8::11
a=ptime:30
a=sendrecv
`

// t38ReOffer is a gateway's switch to T.38 fax: audio disabled, image on.
const t38ReOffer = `v=0
o=- 1 3 IN IP4 192.0.2.7
s=-
c=IN IP4 192.0.2.7
t=0 0
m=audio 0 RTP/AVP 0
m=image 30000 udptl t38
a=T38FaxVersion:0
a=T38MaxBitRate:14400
a=T38FaxRateManagement:transferredTCF
a=T38FaxMaxDatagram:400
a=T38FaxUdpEC:t38UDPRedundancy
`

// audioT38Offer offers audio and T.38 side by side.
const audioT38Offer = `v=0
o=- 1 1 IN IP4 192.0.2.7
s=-
c=IN IP4 192.0.2.7
t=0 0
m=audio 30000 RTP/AVP 8 0
m=image 30002 udptl t38
a=T38FaxVersion:0
a=T38FaxRateManagement:transferredTCF
`

// sdesOffer is best-effort SRTP: the same audio over RTP/SAVP, then RTP/AVP.
const sdesOffer = `v=0
o=root 1 1 IN IP4 192.0.2.20
s=call
c=IN IP4 192.0.2.20
t=0 0
m=audio 62000 RTP/SAVP 0 8 101
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
m=audio 62002 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
`

// crlf turns LF line ends into CRLF, as SIP bodies have them.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// realOffers are fed to the fuzzers as seeds.
var realOffers = []string{sippOffer, sippDefaultOffer, baresipOffer, chromiumOffer, linphoneAVOffer,
	asteriskHoldOffer, polycomInactiveOffer, rfc2543HoldOffer, ipv6Offer, t38ReOffer, audioT38Offer, sdesOffer}
