package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboard-voip/switchboard/events"
	"github.com/switchboard-voip/switchboard/workers"
)

const ctlUsage = `usage:
  switchboard ctl nodes  [--nats URL] [--json]
  switchboard ctl events [--nats URL] [--since 10m | --all] [--count N] [--subject sb.evt.>] [--json]
`

func ctl(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, ctlUsage)
		return 2
	}
	fs := flag.NewFlagSet("switchboard ctl "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := getenv("SB_NATS_URL")
	if def == "" {
		def = nats.DefaultURL
	}
	url := fs.String("nats", def, "NATS URL (env SB_NATS_URL)")
	asJSON := fs.Bool("json", false, "print JSON")
	since := fs.Duration("since", 0, "events: replay from this long ago")
	all := fs.Bool("all", false, "events: replay everything kept")
	count := fs.Int("count", 0, "events: exit after this many")
	subject := fs.String("subject", events.EventWildcard, "events: subject filter")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	nc, err := nats.Connect(*url, nats.Name("switchboard ctl"), nats.Timeout(3*time.Second))
	if err != nil {
		fmt.Fprintf(stderr, "ctl: connect to %s: %v\n", *url, err)
		return 1
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		fmt.Fprintln(stderr, "ctl:", err)
		return 1
	}
	switch args[0] {
	case "nodes":
		err = ctlNodes(ctx, js, *asJSON, stdout)
	case "events":
		err = ctlEvents(ctx, js, *subject, *since, *all, *count, *asJSON, stdout)
	default:
		fmt.Fprintf(stderr, "ctl: unknown command %q\n%s", args[0], ctlUsage)
		return 2
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, "ctl:", err)
		return 1
	}
	return 0
}

// NodeView is one line of `ctl nodes`.
type NodeView struct {
	workers.Member
	// Partitions is, per role, the partitions whose lease names this node.
	Partitions map[string][]int `json:"partitions"`
}

func ctlNodes(ctx context.Context, js jetstream.JetStream, asJSON bool, w io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	nodesKV, err := js.KeyValue(ctx, events.BucketNodes)
	if err != nil {
		return fmt.Errorf("no cluster here (bucket %s): %w", events.BucketNodes, err)
	}
	ownersKV, err := js.KeyValue(ctx, events.BucketOwners)
	if err != nil {
		return err
	}
	members, err := workers.ListMembers(ctx, nodesKV)
	if err != nil {
		return err
	}
	leases, err := workers.ListLeases(ctx, ownersKV)
	if err != nil {
		return err
	}
	views := make([]NodeView, 0, len(members))
	for _, m := range members {
		v := NodeView{Member: m, Partitions: map[string][]int{}}
		for role, ps := range leases {
			for p, l := range ps {
				if l.Node == m.ID && l.Incarnation == m.Incarnation {
					v.Partitions[role] = append(v.Partitions[role], p)
				}
			}
		}
		for _, ps := range v.Partitions {
			slices.Sort(ps)
		}
		views = append(views, v)
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(views)
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLES\tSTATE\tVERSION\tHTTP\tPARTITIONS")
	for _, v := range views {
		state := "up"
		if v.Draining {
			state = "draining"
		}
		roles := append(append([]string{}, v.Labels...), v.Roles...)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, strings.Join(roles, ","), state, v.Version, v.HTTPAddr, partitionsText(v.Partitions))
	}
	return tw.Flush()
}

// partitionsText renders {"media":[0,1,2,5]} as "media:0-2,5 (4)".
func partitionsText(m map[string][]int) string {
	if len(m) == 0 {
		return "-"
	}
	roles := make([]string, 0, len(m))
	for r := range m {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	var parts []string
	for _, r := range roles {
		parts = append(parts, fmt.Sprintf("%s:%s (%d)", r, ranges(m[r]), len(m[r])))
	}
	return strings.Join(parts, " ")
}

func ranges(ps []int) string {
	var b strings.Builder
	for i := 0; i < len(ps); {
		j := i
		for j+1 < len(ps) && ps[j+1] == ps[j]+1 {
			j++
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(ps[i]))
		if j > i {
			b.WriteString("-" + strconv.Itoa(ps[j]))
		}
		i = j + 1
	}
	return b.String()
}

func ctlEvents(ctx context.Context, js jetstream.JetStream, subject string, since time.Duration, all bool, count int, asJSON bool, w io.Writer) error {
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy}
	switch {
	case all:
		cc.DeliverPolicy = jetstream.DeliverAllPolicy
	case since > 0:
		t := time.Now().Add(-since)
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	cons, err := js.OrderedConsumer(ctx, events.EventStream, cc)
	if err != nil {
		return fmt.Errorf("event stream %s: %w", events.EventStream, err)
	}
	msgs, err := cons.Messages()
	if err != nil {
		return err
	}
	defer msgs.Stop()
	go func() { <-ctx.Done(); msgs.Stop() }()
	for n := 0; count == 0 || n < count; n++ {
		m, err := msgs.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if asJSON {
			fmt.Fprintln(w, string(m.Data()))
			continue
		}
		e, err := events.Parse(m.Data())
		if err != nil && !errors.Is(err, events.ErrUnknownEventType) {
			fmt.Fprintf(w, "%s (unparsable: %v)\n", m.Subject(), err)
			continue
		}
		data, _ := json.Marshal(e.Data)
		where := e.Node
		if e.CallID != "" {
			where += " call=" + e.CallID
		}
		fmt.Fprintf(w, "%s %-42s %s %s\n", e.Time.Local().Format("15:04:05.000"), e.Type, where, data)
	}
	return nil
}
