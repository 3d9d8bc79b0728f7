package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/inventory"
	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/sqstext"
	"github.com/hookstack/hookstack/shared/store"
)

// notifications decodes the notifications queue, oldest first, failing on
// one SQS would not take.
func (r *rig) notifications() []domain.Event {
	r.t.Helper()
	var out []domain.Event
	for _, m := range r.sent(envelope.QueueNotifications) {
		if !sqstext.Valid(string(m.Body)) {
			r.t.Fatalf("notification body not SQS-safe: %q", m.Body)
		}
		var e domain.Event
		if err := json.Unmarshal(m.Body, &e); err != nil {
			r.t.Fatalf("notification %s: %v", m.Body, err)
		}
		out = append(out, e)
	}
	return out
}

func typesOf(evs []domain.Event, raw bool) []string {
	var out []string
	for _, e := range evs {
		if e.IsRaw() == raw {
			out = append(out, e.Type)
		}
	}
	return out
}

// A lead field holding U+FFFF (or U+FFFE), which SQS refuses raw, used to
// make its notification unsendable: the message retried and dead-lettered
// without a reason, and every later event of the lead failed too, each
// flush re-sending the same outbox. Now it travels escaped, and the lead's
// next event is announced.
func TestPoisonRuneInNotification(t *testing.T) {
	all := samples(t)
	standard := one(t, all, "standard/lead.created")
	const email = "ada.lovelace@example.com"
	clean := editBody(t, standard, `"first_name": "Ada"`, `"first_name": "Augusta"`)
	clean = editBody(t, clean, `17:05:00Z`, `17:09:00Z`)
	clean.EventID = "msg_clean"
	stdPoison := editBody(t, standard, `"first_name": "Ada"`, `"first_name": "Ada\uffff"`)
	stdPoisonLiteral := editBody(t, standard, `"first_name": "Ada"`, "\"first_name\": \"Ada\ufffe\"")
	hs := editBody(t, all["hubspot/contact.propertyChange"][1], `"propertyName":"company","propertyValue":"Initech"`, `"propertyName":"firstname","propertyValue":"Ada\uffff"`)
	hsLink := editBody(t, all["hubspot/contact.propertyChange"][0], `Sam.Lee@Example.com`, `Ada.Lovelace@Example.com`)
	sf := editBody(t, all["salesforce/lead"][0], `"FirstName":"Sam"`, `"FirstName":"Ada\uffff"`)
	sf = editBody(t, sf, `sam.lee@example.com`, email)
	sfClean := clean
	sfClean.Body = []byte(strings.ReplaceAll(string(clean.Body), "2026-01-05T17:09:00Z", "2026-01-05T19:00:00Z"))
	tests := []struct {
		name  string
		steps []envelope.Envelope
		want  []string // domain events, in order
	}{
		{"standard lead.created, escaped in the body", []envelope.Envelope{stdPoison, clean}, []string{leads.EventLeadCreated, leads.EventLeadUpdated}},
		{"standard lead.created, raw in the body", []envelope.Envelope{stdPoisonLiteral, clean}, []string{leads.EventLeadCreated, leads.EventLeadUpdated}},
		{"hubspot firstname", []envelope.Envelope{hsLink, hs, clean}, []string{leads.EventLeadCreated, leads.EventLeadUpdated, leads.EventLeadUpdated}},
		{"salesforce FirstName", []envelope.Envelope{sf, sfClean}, []string{leads.EventLeadCreated, leads.EventLeadUpdated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			h := r.handler(Leads)
			for i, env := range tt.steps {
				if failed := r.handle(h, msg(t, env)); len(failed) != 0 {
					t.Fatalf("step %d failed: %v\n%s", i, failed, r.logs)
				}
			}
			if dlq := r.sent(queue.DLQ(Leads)); len(dlq) != 0 {
				t.Fatalf("dead-lettered: %+v", dlq)
			}
			got := r.notifications()
			if d := typesOf(got, false); !slices.Equal(d, tt.want) {
				t.Fatalf("domain events %v, want %v", d, tt.want)
			}
			poisoned := false
			for _, e := range got {
				var d struct {
					FirstName string `json:"first_name"`
				}
				_ = json.Unmarshal(e.Data, &d)
				poisoned = poisoned || strings.ContainsAny(d.FirstName, "\uffff\ufffe")
			}
			if !poisoned {
				t.Fatal("the field's value was not carried (escaped) in any notification")
			}
			if rec := r.get(KindLead, email); len(rec.Outbox) != 0 {
				t.Fatalf("outbox left: %d entries", len(rec.Outbox))
			}
		})
	}
}

// A raw forward carries the body as it came: with U+FFFF in it, escaped or
// not, it still reaches the notifications queue.
func TestPoisonRuneInRawForward(t *testing.T) {
	push := one(t, samples(t), "github/push")
	for _, tt := range []struct{ name, rune string }{
		{"escaped", `\uffff`},
		{"raw U+FFFF", "\uffff"},
		{"raw U+FFFE", "\ufffe"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			env := editBody(t, push, `"ref": "refs/heads/main"`, `"ref": "refs/heads/ma`+tt.rune+`in"`)
			if failed := r.handle(r.handler(Relay), msg(t, env)); len(failed) != 0 {
				t.Fatalf("failed: %v\n%s", failed, r.logs)
			}
			got := r.notifications()
			if len(got) != 1 || got[0].Type != "github.push" {
				t.Fatalf("notifications %+v", got)
			}
			var d struct{ Ref string }
			if err := json.Unmarshal(got[0].Data, &d); err != nil || !strings.ContainsAny(d.Ref, "\uffff\ufffe") {
				t.Fatalf("ref %q (%v)", d.Ref, err)
			}
		})
	}
}

// rejectingQueue refuses (queue.ErrRejected) the notifications reject
// names, with Send and, when batch, SendBatch.
type rejectingQueue struct {
	queue.Queue
	reject func(m queue.Outgoing) bool
}

func (q *rejectingQueue) Send(ctx context.Context, name string, m queue.Outgoing) (string, error) {
	if name == envelope.QueueNotifications && q.reject(m) {
		return "", fmt.Errorf("sqs send %q: %w", name, queue.ErrRejected)
	}
	return q.Queue.Send(ctx, name, m)
}

type rejectingBatchQueue struct{ *rejectingQueue }

func (q rejectingBatchQueue) SendBatch(ctx context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	out := make([]queue.BatchResult, len(msgs))
	for i, m := range msgs {
		out[i].ID, out[i].Err = q.Send(ctx, name, m)
	}
	return out
}

// A notification the queue refuses is permanent for that entry: the
// message that produced it is dead-lettered at once with the reason, the
// entry is dropped (error log, ids only), and the record's later events
// are announced.
func TestRejectedNotificationIsDroppedAndDeadLetters(t *testing.T) {
	all := samples(t)
	standard := one(t, all, "standard/lead.created")
	clean := editBody(t, standard, `"first_name": "Ada"`, `"first_name": "Augusta"`)
	clean = editBody(t, clean, `17:05:00Z`, `17:09:00Z`)
	clean.EventID = "msg_clean"
	const email = "ada.lovelace@example.com"
	badID := domain.SubjectEventID(standard.EventID, leads.EventLeadCreated, "lead:"+email)
	for _, batch := range []bool{false, true} {
		t.Run(fmt.Sprintf("batch=%v", batch), func(t *testing.T) {
			r := newRig(t)
			rq := &rejectingQueue{Queue: r.q, reject: func(m queue.Outgoing) bool { return m.Attributes[AttrEventID] == badID }}
			r.deps.Queue = rq
			if batch {
				r.deps.Queue = rejectingBatchQueue{rq}
			}
			h := r.handler(Leads)
			first := msg(t, standard)
			if failed := r.handle(h, first); len(failed) != 0 {
				t.Fatalf("failed = %v: a rejected notification must not be retried", failed)
			}
			dlq := r.sent(queue.DLQ(Leads))
			if len(dlq) != 1 || dlq[0].Attributes[queue.AttrReason] == "" ||
				!strings.Contains(dlq[0].Attributes[queue.AttrReason], ErrNotificationRejected.Error()) ||
				!strings.Contains(dlq[0].Attributes[queue.AttrReason], leads.EventLeadCreated+" notification of source event "+standard.EventID) ||
				strings.Contains(dlq[0].Attributes[queue.AttrReason], email) {
				t.Fatalf("dlq = %+v, want the message with a rejection reason", dlq)
			}
			if !strings.Contains(r.logs.String(), "notification rejected by the queue; dropped") || strings.Contains(strings.ToLower(r.logs.String()), "lovelace") {
				t.Fatalf("want an error log line with ids only:\n%s", r.logs)
			}
			if rec := r.get(KindLead, email); len(rec.Outbox) != 0 {
				t.Fatalf("rejected entry left in the outbox: %+v", rec.Outbox)
			}
			if got := typesOf(r.notifications(), true); !slices.Equal(got, []string{"standard.lead.created"}) {
				t.Fatalf("raw forwards %v", got)
			}
			if failed := r.handle(h, msg(t, clean)); len(failed) != 0 {
				t.Fatalf("the lead's next event failed: %v\n%s", failed, r.logs)
			}
			if got := typesOf(r.notifications(), false); !slices.Equal(got, []string{leads.EventLeadUpdated}) {
				t.Fatalf("domain events %v, want the next event's lead.updated", got)
			}
			if n := len(r.sent(queue.DLQ(Leads))); n != 1 {
				t.Fatalf("%d dead letters, want still 1", n)
			}
		})
	}
}

// A message whose own notification was refused, and which then fails for
// a transient reason, is dead-lettered with the rejection at once: its retry
// succeeds without meeting the dropped entry again, and the drop would
// otherwise be only a log line.
func TestRejectedThenTransientStillDeadLetters(t *testing.T) {
	all := samples(t)
	standard := one(t, all, "standard/lead.created")
	const email = "ada.lovelace@example.com"
	badID := domain.SubjectEventID(standard.EventID, leads.EventLeadCreated, "lead:"+email)
	r := newRig(t)
	failForward := true
	r.deps.Queue = &rejectingQueue{Queue: &faultyQueue{Queue: r.q, fail: func(name string, m queue.Outgoing) error {
		if name == envelope.QueueNotifications && m.Attributes[AttrEventType] == "standard.lead.created" && failForward {
			failForward = false
			return errors.New("throttled") // transient: the message is retried
		}
		return nil
	}}, reject: func(m queue.Outgoing) bool { return m.Attributes[AttrEventID] == badID }}
	h := r.handler(Leads)
	m := msg(t, standard)
	if failed := r.handle(h, m); len(failed) != 1 {
		t.Fatalf("failed = %v: the transient failure must be retried", failed)
	}
	m.Attributes["ApproximateReceiveCount"] = "2"
	if failed := r.handle(h, m); len(failed) != 0 {
		t.Fatalf("retry failed = %v\n%s", failed, r.logs)
	}
	dlq := r.sent(queue.DLQ(Leads))
	if len(dlq) != 1 || !strings.Contains(dlq[0].Attributes[queue.AttrReason], ErrNotificationRejected.Error()) {
		t.Fatalf("dlq = %+v, want one copy with the rejection", dlq)
	}
	if got := typesOf(r.notifications(), true); !slices.Equal(got, []string{"standard.lead.created"}) {
		t.Fatalf("raw forwards %v", got)
	}
}

// An outbox entry written before notifications were made SQS-safe (U+FFFF
// as it is) is sent escaped by the record's next processing; one the queue
// refuses whatever is done is dropped without failing the message that
// came across it.
func TestStoredOutboxEntries(t *testing.T) {
	all := samples(t)
	standard := one(t, all, "standard/lead.created")
	const email = "ada.lovelace@example.com"
	tests := []struct {
		name     string
		body     string
		reject   bool
		wantSent bool
	}{
		{"raw U+FFFF from an older version", "{\"id\":\"old:lead.updated\",\"type\":\"lead.updated\",\"subject\":\"lead:ada\",\"data\":{\"first_name\":\"Ada\uffff\"}}", false, true},
		{"refused by the queue", `{"id":"old:lead.updated","type":"lead.updated"}`, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.deps.Queue = &rejectingQueue{Queue: r.q, reject: func(m queue.Outgoing) bool { return tt.reject && m.Attributes[AttrEventID] == "old:lead.updated" }}
			h := r.handler(Leads)
			if failed := r.handle(h, msg(t, standard)); len(failed) != 0 {
				t.Fatal(failed)
			}
			rec := r.get(KindLead, email)
			rec.Outbox = []store.OutboxEvent{{ID: "old:lead.updated", Body: json.RawMessage(tt.body)}}
			if _, err := r.base.Put(context.Background(), rec, rec.Rev); err != nil {
				t.Fatal(err)
			}
			next := editBody(t, standard, `17:05:00Z`, `17:09:00Z`)
			next = editBody(t, next, `"last_name": "Lovelace"`, `"last_name": "King"`)
			next.EventID = "msg_next"
			if failed := r.handle(h, msg(t, next)); len(failed) != 0 {
				t.Fatalf("failed: %v\n%s", failed, r.logs)
			}
			if n := len(r.sent(queue.DLQ(Leads))); n != 0 {
				t.Fatalf("%d dead letters: an entry the message did not produce must not dead-letter it", n)
			}
			sent := map[string]bool{}
			for _, e := range r.notifications() {
				sent[e.ID] = true
			}
			if sent["old:lead.updated"] != tt.wantSent || !sent[domain.SubjectEventID("msg_next", leads.EventLeadUpdated, "lead:"+email)] {
				t.Fatalf("sent %v", sent)
			}
			if rec := r.get(KindLead, email); len(rec.Outbox) != 0 {
				t.Fatalf("outbox left: %+v", rec.Outbox)
			}
		})
	}
}

// A message still failing transiently on its last allowed receive is
// dead-lettered by the handler with the error as its reason (SQS's own
// redrive would move it without one) and acknowledged.
func TestLastReceiveDeadLettersWithReason(t *testing.T) {
	good := one(t, samples(t), "stripe/payment_intent.succeeded")
	tests := []struct {
		name        string
		maxReceives int
		receive     string
		wantDead    bool
	}{
		{"last receive", 5, "5", true},
		{"past the last (a late count)", 5, "6", true},
		{"an earlier receive is retried", 5, "4", false},
		{"max receives unknown", 0, "5", false},
		{"no receive count", 5, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			r.withStore(store.WithFaults(r.base, func(op string) error {
				if op == store.OpPut {
					return fmt.Errorf("throttled: %w", store.ErrUnavailable)
				}
				return nil
			}))
			h, err := New(Payments, r.deps, Config{MaxReceives: tt.maxReceives})
			if err != nil {
				t.Fatal(err)
			}
			m := msg(t, good)
			m.Attributes["ApproximateReceiveCount"] = tt.receive
			failed := r.handle(h, m)
			dlq := r.sent(queue.DLQ(Payments))
			if !tt.wantDead {
				if !slices.Equal(failed, []string{m.MessageId}) || len(dlq) != 0 {
					t.Fatalf("failed %v, dlq %d: want a retry", failed, len(dlq))
				}
				return
			}
			if len(failed) != 0 || len(dlq) != 1 || dlq[0].Body == nil || string(dlq[0].Body) != m.Body {
				t.Fatalf("failed %v, dlq %+v: want the message dead-lettered and acknowledged", failed, dlq)
			}
			reason := dlq[0].Attributes[queue.AttrReason]
			if !strings.HasPrefix(reason, "gave up after 5 receives: ") || !strings.Contains(reason, "throttl") {
				t.Fatalf("reason %q", reason)
			}
			if !strings.Contains(r.logs.String(), `"status":"dead"`) {
				t.Fatalf("log:\n%s", r.logs)
			}
		})
	}
}

// One products/update mapping two skus announces each item's low stock
// under its own id (the same id made the fan-out derive one delivery id for
// both, and the deliverer sent only the first).
func TestOneSourceEventTwoItemsTwoIDs(t *testing.T) {
	all := samples(t)
	adjusted := one(t, all, "standard/inventory.adjusted")
	r := newRig(t)
	h := r.handler(Inventory)
	var msgs []events.SQSMessage
	for i, sku := range []string{"HS-TEE-M", "HS-TEE-L"} {
		env := editBody(t, adjusted, `"sku": "HS-TEE-M"`, `"sku": "`+sku+`"`)
		env = editBody(t, env, `"available": 40`, `"available": 2`)
		env.EventID = fmt.Sprintf("msg_adj_%d", i)
		msgs = append(msgs, msg(t, env))
	}
	product := one(t, all, "shopify/products_update")
	msgs = append(msgs, msg(t, product))
	for _, m := range msgs {
		if failed := r.handle(h, m); len(failed) != 0 {
			t.Fatalf("failed %v\n%s", failed, r.logs)
		}
	}
	ids := map[string]string{}
	for _, e := range r.notifications() {
		if e.Type == inventory.EventLowStock && e.SourceEventID == product.EventID {
			if prev, dup := ids[e.ID]; dup {
				t.Fatalf("%s and %s share id %s", prev, e.Subject, e.ID)
			}
			ids[e.ID] = e.Subject
		}
	}
	if len(ids) != 2 {
		t.Fatalf("low-stock announcements of the products/update: %v, want one per item", ids)
	}
}
