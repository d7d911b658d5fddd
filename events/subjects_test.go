package events_test

import (
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/switchboard-voip/switchboard/events"
)

func TestPartitionSubjects(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		// Media (call) partitions use the short form sb.p.<p>.
		{events.PartitionPrefix(events.RoleMedia, 0), "sb.p.0"},
		{events.PartitionPrefix(events.RoleMedia, 63), "sb.p.63"},
		{events.PartitionSubject(events.RoleMedia, 7, "sip"), "sb.p.7.sip"},
		{events.PartitionSubject(events.RoleMedia, 1023, "rtp.stats"), "sb.p.1023.rtp.stats"},
		{events.PartitionCommandSubject(events.RoleMedia, 38, "locate"), "sb.p.38.cmd.locate"},
		{events.PartitionCommandSubject(events.RoleMedia, 0, "hangup"), "sb.p.0.cmd.hangup"},
		// Other roles own their partition space: sb.<role>.p.<p>.
		{events.PartitionPrefix(events.RoleConference, 5), "sb.conference.p.5"},
		{events.PartitionSubject(events.RoleConference, 5, "join"), "sb.conference.p.5.join"},
		{events.PartitionCommandSubject(events.RoleConference, 12, "mute"), "sb.conference.p.12.cmd.mute"},
		{events.PartitionPrefix(events.RoleDTMF, 4095), "sb.dtmf.p.4095"},
		{events.PartitionSubject(events.RoleDTMF, 3, "digit"), "sb.dtmf.p.3.digit"},
		{events.PartitionCommandSubject(events.RoleDTMF, 3, "collect"), "sb.dtmf.p.3.cmd.collect"},
		// Commands, node events, owner keys.
		{events.CommandSubject("locate"), "sb.cmd.locate"},
		{events.NodeEventSubject("node-a", "joined"), "sb.evt.node.node-a.joined"},
		{events.NodeEventSubject("node-a", (&events.PartitionAcquired{}).EventName()), "sb.evt.node.node-a.partition_acquired"},
		{events.OwnerKey(events.RoleMedia, 0), "media.0"},
		{events.OwnerKey(events.RoleConference, 4095), "conference.4095"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// TestSubjectsAreValid: every subject the package builds is a valid literal
// subject, is matched by the wildcard its consumer uses, and no two roles'
// partition spaces overlap.
func TestSubjectsAreValid(t *testing.T) {
	matches := func(sub, subj string) bool { return server.SubjectMatchesFilter(subj, sub) }
	for _, role := range events.AllRoles {
		for _, p := range []int{0, 1, 63, 4095} {
			for _, s := range []string{
				events.PartitionSubject(role, p, "sip"),
				events.PartitionCommandSubject(role, p, "locate"),
			} {
				if !server.IsValidLiteralSubject(s) {
					t.Errorf("%q is not a valid literal subject", s)
				}
				// The owner subscribes to <prefix>.>.
				if !matches(events.PartitionPrefix(role, p)+".>", s) {
					t.Errorf("%q not matched by its owner's subscription", s)
				}
				for _, other := range events.AllRoles {
					if other != role && matches(events.PartitionPrefix(other, p)+".>", s) {
						t.Errorf("%q of role %s is also matched by role %s's subscription", s, role, other)
					}
				}
				if matches(events.PartitionPrefix(role, p+1)+".>", s) || matches(events.CommandWildcard, s) || matches(events.EventWildcard, s) {
					t.Errorf("%q is matched by a subscription it does not belong to", s)
				}
			}
		}
	}
	for _, s := range []string{
		events.CommandSubject("locate"),
	} {
		if !server.IsValidLiteralSubject(s) || !matches(events.CommandWildcard, s) || !strings.HasPrefix(s, events.CommandPrefix) {
			t.Errorf("command subject %q", s)
		}
	}
	for _, s := range []string{
		events.NodeEventSubject("node-a", "joined"),
		events.CallEventSubject("a84b4c76e66710@pc33.atlanta.com", "hangup"),
	} {
		if !server.IsValidLiteralSubject(s) || !matches(events.EventWildcard, s) || matches(events.CommandWildcard, s) {
			t.Errorf("event subject %q", s)
		}
	}
}

// TestCallEventSubjectEncodes: the Call-ID is one token, encoded, whatever
// it contains.
func TestCallEventSubjectEncodes(t *testing.T) {
	for _, c := range []struct{ callID, want string }{
		{"a84b4c76e66710@pc33.atlanta.com", "sb.evt.call.YTg0YjRjNzZlNjY3MTBAcGMzMy5hdGxhbnRhLmNvbQ.hangup"},
		{"x", "sb.evt.call.eA.hangup"},
		{"a.b", "sb.evt.call.YS5i.hangup"},
		{"*", "sb.evt.call.Kg.hangup"},
		{">", "sb.evt.call.Pg.hangup"},
	} {
		if got := events.CallEventSubject(c.callID, "hangup"); got != c.want {
			t.Errorf("CallEventSubject(%q) = %q, want %q", c.callID, got, c.want)
		}
	}
	for _, id := range callIDs {
		s := events.CallEventSubject(id, "answered")
		toks := strings.Split(s, ".")
		if len(toks) != 5 || toks[0] != "sb" || toks[1] != "evt" || toks[2] != "call" || toks[4] != "answered" {
			t.Fatalf("CallEventSubject(%q) = %q is not sb.evt.call.<token>.answered", id, s)
		}
		if got, err := events.DecodeCallID(toks[3]); err != nil || got != id {
			t.Fatalf("token of %q decodes to %q, %v", id, got, err)
		}
		if !server.IsValidLiteralSubject(s) {
			t.Fatalf("%q is not a valid literal subject", s)
		}
	}
}

func TestOwnerKeyIsAValidKVKey(t *testing.T) {
	for _, role := range events.AllRoles {
		for _, p := range []int{0, 9, 4095} {
			k := events.OwnerKey(role, p)
			if !kvKey.MatchString(k) {
				t.Errorf("OwnerKey(%s, %d) = %q is not a valid KV key", role, p, k)
			}
			r, n, ok := strings.Cut(k, ".")
			if !ok || r != role || n == "" || strings.Contains(n, ".") {
				t.Errorf("OwnerKey(%s, %d) = %q is not <role>.<p>", role, p, k)
			}
		}
	}
}

func TestNamesAreValid(t *testing.T) {
	for _, r := range events.AllRoles {
		if !events.ValidToken(r) {
			t.Errorf("role %q is not a valid token", r)
		}
	}
	if len(events.AllRoles) != 3 || events.AllRoles[0] != events.RoleMedia {
		t.Errorf("AllRoles = %v, want media first", events.AllRoles)
	}
	for _, b := range []string{events.BucketNodes, events.BucketOwners, events.BucketConfig, events.EventStream, events.ServiceName, events.EdgeQueue} {
		if !events.ValidToken(b) {
			t.Errorf("%q is not a valid bucket/stream/queue name", b)
		}
	}
	for _, v := range events.Verbs() {
		if !events.ValidToken(v) {
			t.Errorf("verb %q is not a valid token", v)
		}
		if c := events.NewCommand(v); c == nil || c.Verb() != v || !events.ValidToken(c.Role()) {
			t.Errorf("verb %q: command %#v", v, c)
		}
	}
}

func TestValidToken(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"node-a", true},
		{"node_1", true},
		{"A", true},
		{"0", true},
		{"sb-media-7f9c", true},
		{"YTg0YjRjNzZlNjY3MTBAcGMzMy5hdGxhbnRhLmNvbQ", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"node.a", false},
		{"node*", false},
		{">", false},
		{"node a", false},
		{"node\ta", false},
		{"node\n", false},
		{"node/a", false},
		{"node=a", false},
		{"node@host", false},
		{"nœud", false},
		{"node%41", false},
		{"\x00", false},
	} {
		if got := events.ValidToken(c.s); got != c.want {
			t.Errorf("ValidToken(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}
