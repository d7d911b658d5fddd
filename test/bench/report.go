package main

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// report is everything a run measured.
type report struct {
	Machine    string            `json:"machine"`
	Started    string            `json:"started"`
	Work       string            `json:"work_dir"`
	CPS        []*cpsResult      `json:"cps,omitempty"`
	Concurrent []*concResult     `json:"concurrent,omitempty"`
	Transcode  []*concResult     `json:"transcode,omitempty"`
	Failover   []*failoverResult `json:"failover,omitempty"`
}

func f1(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.1f", v)
}

func f0(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return fmt.Sprintf("%.0f", v)
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	if v != 0 && math.Abs(v) < 0.01 {
		return fmt.Sprintf("%.4f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// print writes the summary tables (Markdown, as docs/benchmarks.md has them).
func (r *report) print() {
	defer r.printTranscode()
	fmt.Printf("\n## Results (%s)\n\nmachine: %s\n", r.Started, r.Machine)
	if len(r.CPS) > 0 {
		fmt.Println("\n### Calls per second (echo route, no media; fresh platform per rate)")
		fmt.Println()
		fmt.Println("| target cps | calls | ok | failed | achieved cps | retrans | dead-call msgs | SIP socket drops | INVITE→200 p50 / p99 / max ms | BYE→200 p50 / p99 ms | platform CPU ms/call | platform CPU % core | sipp CPU % core | machine busy % | SIP errors | before: busy % / load | verdict |")
		fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
		best := 0
		for _, c := range r.CPS {
			fmt.Printf("| %d | %d | %d | %d | %s | %d | %d | %d | %s / %s / %s | %s / %s | %s | %s | %s | %s | %.0f | %s | %s |\n",
				c.Rate, c.Calls, c.OK, c.Failed, f0(c.Achieved), c.Retrans, c.DeadCall, c.SIPDrops, f1(c.InviteP50), f1(c.InviteP99), f0(c.InviteMax),
				f1(c.ByeP50), f1(c.ByeP99), pct(c.CPUPerCall), f0(c.PlatCPU), f0(c.SippCPU), f0(c.Machine), c.SIPErrors, before(c.BusyBefore, c.Load), c.Verdict)
			if strings.HasPrefix(c.Verdict, "ok") && c.Rate > best {
				best = c.Rate
			}
		}
		if best > 0 {
			fmt.Printf("\nhighest rate with 0 failed calls: %d cps\n", best)
		} else {
			fmt.Println("\nno rate passed with 0 failed calls")
		}
	}
	if len(r.Concurrent) > 0 {
		fmt.Println("\n### Concurrent calls with RTP both ways (sipp rtp_stream → echo route → sipp)")
		fmt.Println()
		fmt.Println("| calls | ramp cps | ok | failed | peak active | plateau s | RTP in / out | echo loss % | inbound loss % (seq) | socket drops | RTP in pps/call | CPU ms per call-s | platform CPU % core | sipp CPU % core | machine busy % | RSS before / peak / after MB | KB/call | before: busy % / load | verdict |")
		fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
		for _, c := range r.Concurrent {
			fmt.Printf("| %d | %d | %d | %d | %.0f | %s | %.0f / %.0f | %s | %s | %d | %s | %s | %s | %s | %s | %s / %s / %s | %s | %s | %s |\n",
				c.N, c.Ramp, c.OK, c.Failed, c.Peak, f0(c.Plateau), c.RTPIn, c.RTPOut, pct(c.EchoLoss), pct(c.SeqLoss), c.SockDrops,
				f1(c.PPSPerCall), pct(c.CPUPerCallSec), f0(c.PlatCPUPlat), f0(c.SippCPUPlat), f0(c.MachinePlat),
				f0(c.RSSBeforeMB), f0(c.RSSPeakMB), f0(c.RSSAfterMB), f0(c.KBPerCall), before(c.BusyBefore, c.Load), c.Verdict)
		}
	}
}

// printTranscode is the table of the transcoding scenario.
func (r *report) printTranscode() {
	if len(r.Transcode) == 0 {
		return
	}
	fmt.Println("\n### Concurrent G.711 ↔ Opus bridged calls (sipp PCMU rtp_stream → app route → dial → sipp Opus -rtp_echo; transcoded both ways, twice per packet round trip)")
	fmt.Println()
	fmt.Println("| bridged calls | ok | failed | decoded legs peak | late frames | Opus complexity min–max | concealed frames | jitter-late packets | jitter buffer ms mean | inbound loss % (seq) | socket drops | CPU ms per bridged call-s | platform CPU % core | sipp CPU % core (UAC) | machine busy % | KB/call | before: busy % / load | verdict |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
	for _, c := range r.Transcode {
		fmt.Printf("| %d | %d | %d | %.0f | %.0f | %.0f–%.0f | %d | %d | %.1f | %s | %d | %s | %s | %s | %s | %s | %s | %s |\n",
			c.N, c.OK, c.Failed, c.DecodedPeak, c.LateFrames, c.ComplexityMin, c.ComplexityMax, c.Concealed, c.LatePackets, c.JBDelayMean,
			pct(c.SeqLoss), c.SockDrops, pct(c.CPUPerCallSec), f0(c.PlatCPUPlat), f0(c.SippCPUPlat), f0(c.MachinePlat), f0(c.KBPerCall),
			before(c.BusyBefore, c.Load), c.Verdict)
	}
}

func printCPSDetail(c *cpsResult) {
	fmt.Printf("== cps %d: %s\n", c.Rate, c.Verdict)
	fmt.Printf("   %s\n", c.Command)
	fmt.Printf("   calls %d ok %d failed %d (%s) achieved %.1f cps, retransmissions %d, dead-call messages %d, platform SIP socket drops %d\n", c.Calls, c.OK, c.Failed, c.Failures, c.Achieved, c.Retrans, c.DeadCall, c.SIPDrops)
	fmt.Printf("   INVITE->200 mean %s p50 %s p99 %s max %s ms; BYE->200 p50 %s p99 %s ms\n",
		f1(c.InviteMean), f1(c.InviteP50), f1(c.InviteP99), f1(c.InviteMax), f1(c.ByeP50), f1(c.ByeP99))
	fmt.Printf("   platform CPU %.2f ms/call (%.0f%% of a core), sipp %.0f%% of a core; machine %.0f%% busy; before the step: machine %.0f%% busy, load %s\n",
		c.CPUPerCall, c.PlatCPU, c.SippCPU, c.Machine, c.BusyBefore, c.Load)
	fmt.Printf("   sb_calls_completed +%.0f, peak sb_calls_active %.0f, peak RSS %.0f MB, goroutines %.0f -> %.0f, sb_sip_errors +%.0f\n",
		c.Completed, c.PeakActive, c.PeakRSSMB, c.Goroutines[0], c.Goroutines[1], c.SIPErrors)
	for _, e := range c.Evidence {
		fmt.Println("   ! " + e)
	}
	fmt.Println()
}

func printConcDetail(c *concResult) {
	kind := "concurrent"
	if c.Transcode {
		kind = "transcode"
	}
	fmt.Printf("== %s %d: %s\n", kind, c.N, c.Verdict)
	fmt.Printf("   %s\n", c.Command)
	if c.Transcode {
		fmt.Printf("   %s\n", c.UASCommand)
		fmt.Printf("   dials %d (refused %d); decoded legs peak %.0f; late frames %.0f; Opus complexity %.0f-%.0f; concealed frames %d; jitter-late packets %d; jitter buffer mean %.1f ms\n",
			c.Dials, c.DialFailed, c.DecodedPeak, c.LateFrames, c.ComplexityMin, c.ComplexityMax, c.Concealed, c.LatePackets, c.JBDelayMean)
	}
	fmt.Printf("   calls %d ok %d failed %d (%s), retransmissions %d, dead-call messages %d, peak sb_calls_active %.0f, all up for %.0f s\n",
		c.N, c.OK, c.Failed, c.Failures, c.Retrans, c.DeadCall, c.Peak, c.Plateau)
	fmt.Printf("   INVITE->200 p50 %s p99 %s ms\n", f1(c.InviteP50), f1(c.InviteP99))
	fmt.Printf("   RTP: platform received %.0f, sent %.0f (echo loss %s%%); %.1f pps/call in at the plateau (nominal 50); %s%% of 50 pps x %.0f call-seconds arrived\n",
		c.RTPIn, c.RTPOut, pct(c.EchoLoss), c.PPSPerCall, f1(c.Delivered), c.CallSeconds)
	fmt.Printf("   inbound loss by sequence numbers (platform's final call.media_stats): %d packets, %s%%; jitter mean %.2f ms, max %.2f ms\n",
		c.SeqLost, pct(c.SeqLoss), c.JitterMean, c.JitterMax)
	fmt.Printf("   kernel: %d drops on the platform's RTP sockets, %d on its SIP socket, %d softnet backlog drops, %d echoed packets reached sipp's (unread) socket\n",
		c.SockDrops, c.SIPDrops, c.Softnet, c.AtSipp)
	fmt.Printf("   platform CPU %.2f ms per call-second; at the plateau platform %.0f%%, sipp %.0f%% of a core, machine %.0f%% busy; before the step: machine %.0f%% busy, load %s\n",
		c.CPUPerCallSec, c.PlatCPUPlat, c.SippCPUPlat, c.MachinePlat, c.BusyBefore, c.Load)
	fmt.Printf("   RSS %.0f -> peak %.0f -> %.0f MB (%.0f KB per call); goroutines %.0f -> peak %.0f -> %.0f; RTP sockets peak %d, after %d\n",
		c.RSSBeforeMB, c.RSSPeakMB, c.RSSAfterMB, c.KBPerCall, c.Goroutines[0], c.Goroutines[1], c.Goroutines[2], c.MaxSockets, c.SocketsAfter)
	var st []string
	for k, v := range c.Completed {
		st = append(st, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(st)
	fmt.Printf("   call.completed: %s; sb_sip_errors +%.0f\n", strings.Join(st, " "), c.SIPErrors)
	for _, v := range c.extra {
		fmt.Println("   note: " + v)
	}
	for _, e := range c.Evidence {
		fmt.Println("   ! " + e)
	}
	fmt.Println()
}

// before is the machine's state before a step: busy % over 3 s and the
// 1-minute load average.
func before(busy float64, load string) string {
	l, _, _ := strings.Cut(load, " ")
	return f0(busy) + " / " + l
}
