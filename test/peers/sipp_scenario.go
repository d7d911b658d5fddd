package peers

import (
	"fmt"
	"strings"
)

// MovingCallScenario is a sipp UAC scenario for calls whose media the platform
// moves: a PCMU call to [service] streaming tone.ulaw for rounds rounds of
// roundMS each, answering every re-INVITE (and taking its ACK) whenever it
// comes, then BYE.
//
// It is generated rather than written with a loop counter because sipp
// aborts a call on any message that arrives while the call sits on a <nop>
// or <send> (it runs one element per scheduling pass): a loop whose counter
// lives in <nop> actions loses calls whenever the platform's ACK or next
// re-INVITE lands in that window. Here every round is a pair of waits (ACK,
// optional; INVITE), each 200 jumps straight back to its round's waits, and
// a round's timeout jumps straight to the next round's waits, so the call
// is always waiting on a <recv> while it is up.
func MovingCallScenario(rounds, roundMS int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="UAC PCMU tone, answers any re-INVITEs, then BYE">
  <send retrans="500">
    <![CDATA[

      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

` + sippSDP + `
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[

      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <nop><action><exec rtp_stream="tone.ulaw,-1,0"/></action></nop>
`)
	for i := 1; i <= rounds; i++ {
		fmt.Fprintf(&b, `  <label id="%d"/>
  <recv request="ACK" optional="true" next="%d" timeout="%d" ontimeout="%d"/>
  <recv request="INVITE" timeout="%d" ontimeout="%d"/>
  <send next="%d">
    <![CDATA[

      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: sip:sipp@[local_ip]:[local_port]
      Content-Type: application/sdp
      Content-Length: [len]

`+sippSDP+`
    ]]>
  </send>
`, i, i, roundMS, i+1, roundMS, i+1, i)
	}
	fmt.Fprintf(&b, `  <label id="%d"/>
  <send retrans="500">
    <![CDATA[

      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: [service] <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: sip:sipp@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
  <recv response="200" crlf="true"/>
</scenario>
`, rounds+1)
	return b.String()
}

const sippSDP = `      v=0
      o=user1 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [auto_media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=ptime:20
      a=sendrecv
`
