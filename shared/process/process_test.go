package process

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/blob/fileblob"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/inventory"
	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/store"
)

const (
	samplePI       = "pi_3RZx5a2eZvKYlo2C0m8kQpLd"
	sampleCustomer = "cus_RZx4qT8mWk2LhN"
	sampleItem     = "49148385591586" // shopify inventory_item_id of HS-TEE-M
	sampleChat     = "PJ0MRSHTDG"
)

func TestGoodMessageAppliedAndNotified(t *testing.T) {
	r := newRig(t)
	all := samples(t)
	h := r.handler(Payments)
	if failed := r.handle(h, msg(t, one(t, all, "stripe/payment_intent.succeeded"))); len(failed) != 0 {
		t.Fatalf("failed = %v\nlogs:\n%s", failed, r.logs)
	}
	rec := r.get(KindPayment, samplePI)
	p := decode[payments.Payment](t, rec)
	if p.Status != payments.StatusSucceeded || p.Amount != 2000 || p.Currency != "usd" || p.Customer != sampleCustomer {
		t.Fatalf("payment = %+v", p)
	}
	if len(rec.Outbox) != 0 {
		t.Fatalf("outbox not cleared: %v", rec.Outbox)
	}
	got := r.notified()
	want := map[string]int{payments.EventPaymentSucceeded: 1, "stripe.payment_intent.succeeded": 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("notifications = %v, want %v", got, want)
	}
	for _, m := range r.sent(envelope.QueueNotifications) {
		var ev struct {
			ID, Type, Subject string
		}
		_ = json.Unmarshal(m.Body, &ev)
		if ev.Subject != "payment:"+samplePI || m.Attributes[AttrEventType] != ev.Type {
			t.Errorf("notification %+v attrs %v", ev, m.Attributes)
		}
	}
}

func TestReplayEmitsNothingNew(t *testing.T) {
	r := newRig(t)
	all := samples(t)
	h := r.handler(Payments)
	env := one(t, all, "stripe/payment_intent.succeeded")
	if failed := r.handle(h, msg(t, env)); len(failed) != 0 {
		t.Fatal(failed)
	}
	rev := r.get(KindPayment, samplePI).Rev
	// The same event again: alone, twice in one batch (SQS duplicates),
	// and as a fresh ingest envelope (a provider retry).
	env2 := env
	env2.ID = "env-retry"
	if failed := r.handle(h, msg(t, env), msg(t, env), msg(t, env2)); len(failed) != 0 {
		t.Fatal(failed)
	}
	if got := r.get(KindPayment, samplePI).Rev; got != rev {
		t.Fatalf("a replay wrote the record: rev %d → %d", rev, got)
	}
	got := r.notified()
	if got[payments.EventPaymentSucceeded] != 1 {
		t.Fatalf("payment.succeeded sent %d times", got[payments.EventPaymentSucceeded])
	}
	// Raw forwards are at-least-once: repeated, always with the same id.
	ids := map[string]bool{}
	for _, m := range r.sent(envelope.QueueNotifications) {
		ids[m.Attributes[AttrEventID]] = true
	}
	if len(ids) != 2 {
		t.Fatalf("distinct notification ids = %v, want the domain event and the raw forward", ids)
	}
}

func TestNotificationsLog(t *testing.T) {
	r := newRig(t)
	r.deps.Notifications = true
	all := samples(t)
	h := r.handler(Payments)
	env := one(t, all, "stripe/payment_intent.succeeded")
	for range 2 {
		if failed := r.handle(h, msg(t, env)); len(failed) != 0 {
			t.Fatal(failed)
		}
	}
	ns, err := r.base.ListNotifications(context.Background(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, n := range ns {
		types = append(types, n.Type+"@"+n.Subject)
	}
	slices.Sort(types)
	want := []string{"payment.succeeded@payment:" + samplePI, "stripe.payment_intent.succeeded@payment:" + samplePI}
	if !slices.Equal(types, want) {
		t.Fatalf("log = %v, want %v", types, want)
	}
}

func TestPermanentFailuresAreDeadLettered(t *testing.T) {
	all := samples(t)
	good := one(t, all, "stripe/payment_intent.succeeded")
	malformedStripe := good
	malformedStripe.Body = []byte(`{"id":"evt_x","type":"payment_intent.succeeded","created":1767261630,"data":{"object":{"object":"payment_intent"}}}`)
	invalid := good
	invalid.Invalid = "unexpected end of JSON input"
	missingBlob := good
	missingBlob.Body, missingBlob.BodyRef = nil, "file:bodies/stripe/none"
	tests := []struct {
		name, body, reason string
	}{
		{"not an envelope", `{"hello":`, "malformed envelope"},
		{"envelope without id", `{"v":1,"provider":"stripe"}`, "malformed envelope"},
		{"invalid envelope", encode(t, invalid), "invalid envelope: unexpected end of JSON input"},
		{"malformed stripe payload", encode(t, malformedStripe), "malformed stripe event"},
		{"claim-check body gone", encode(t, missingBlob), "blob not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			blobs, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
			if err != nil {
				t.Fatal(err)
			}
			r.deps.Blobs = blobs
			h := r.handler(Payments)
			bad := rawMsg(tt.body)
			failed := r.handle(h, msg(t, good), bad)
			if len(failed) != 0 {
				t.Fatalf("failed = %v: a permanent failure must be acknowledged", failed)
			}
			dlq := r.sent(queue.DLQ(Payments))
			if len(dlq) != 1 || string(dlq[0].Body) != tt.body || !strings.Contains(dlq[0].Attributes[queue.AttrReason], tt.reason) {
				t.Fatalf("dlq = %+v, want the original body with reason containing %q", dlq, tt.reason)
			}
			// The good message of the same batch was applied.
			if p := decode[payments.Payment](t, r.get(KindPayment, samplePI)); p.Status != payments.StatusSucceeded {
				t.Fatalf("payment = %+v", p)
			}
			if !strings.Contains(r.logs.String(), `"status":"dead"`) || !strings.Contains(r.logs.String(), `"EventsDeadLettered":1`) {
				t.Fatalf("no dead-letter log line:\n%s", r.logs)
			}
		})
	}
}

func encode(t testing.TB, env envelope.Envelope) string {
	t.Helper()
	b, err := envelope.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeadLetterSendFailureIsRetried(t *testing.T) {
	r := newRig(t)
	r.deps.Queue = &faultyQueue{Queue: r.q, fail: func(name string, _ queue.Outgoing) error {
		if name == queue.DLQ(Payments) {
			return errors.New("sqs down")
		}
		return nil
	}}
	bad := rawMsg("not json")
	if failed := r.handle(r.handler(Payments), bad); !slices.Equal(failed, []string{bad.MessageId}) {
		t.Fatalf("failed = %v, want the message whose DLQ send failed", failed)
	}
}

func TestTransientStoreFailureIsRetried(t *testing.T) {
	r := newRig(t)
	var fail atomic.Bool
	fail.Store(true)
	r.withStore(store.WithFaults(r.base, func(op string) error {
		if op == store.OpPut && fail.Load() {
			return fmt.Errorf("throttled: %w", store.ErrUnavailable)
		}
		return nil
	}))
	all := samples(t)
	good := msg(t, one(t, all, "stripe/customer.created")) // unhandled: no write
	flaky := msg(t, one(t, all, "stripe/payment_intent.succeeded"))
	h := r.handler(Payments)
	if failed := r.handle(h, good, flaky); !slices.Equal(failed, []string{flaky.MessageId}) {
		t.Fatalf("failed = %v, want only %s", failed, flaky.MessageId)
	}
	if _, err := r.base.Get(context.Background(), KindPayment, samplePI); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("record written despite the failure: %v", err)
	}
	if n := r.notified()[payments.EventPaymentSucceeded]; n != 0 {
		t.Fatalf("payment.succeeded sent %d times before the write", n)
	}
	if len(r.sent(queue.DLQ(Payments))) != 0 {
		t.Fatal("a transient failure was dead-lettered")
	}
	fail.Store(false)
	if failed := r.handle(h, flaky); len(failed) != 0 {
		t.Fatalf("retry failed: %v", failed)
	}
	if p := decode[payments.Payment](t, r.get(KindPayment, samplePI)); p.Status != payments.StatusSucceeded {
		t.Fatalf("payment = %+v", p)
	}
	if n := r.notified()[payments.EventPaymentSucceeded]; n != 1 {
		t.Fatalf("payment.succeeded sent %d times", n)
	}
}

func TestConflictsAreRetriedThenTransient(t *testing.T) {
	r := newRig(t)
	var conflicts atomic.Int32
	r.withStore(store.WithFaults(r.base, func(op string) error {
		if op == store.OpPut && conflicts.Add(1) <= 3 {
			return store.ErrConflict
		}
		return nil
	}))
	all := samples(t)
	h := r.handler(Payments)
	if failed := r.handle(h, msg(t, one(t, all, "stripe/payment_intent.succeeded"))); len(failed) != 0 {
		t.Fatalf("a few conflicts must be absorbed: failed %v", failed)
	}
	conflicts.Store(-1000) // always conflicting from now on
	m := msg(t, one(t, all, "stripe/charge.refunded"))
	if failed := r.handle(h, m); !slices.Equal(failed, []string{m.MessageId}) {
		t.Fatalf("failed = %v: exhausted conflicts are transient", failed)
	}
}

// TestCrashBetweenWriteAndSend: the record and its events are written,
// then the notification send fails. The retry (or any later message for
// the record) finds the pending outbox and sends it: once in effect.
func TestCrashBetweenWriteAndSend(t *testing.T) {
	all := samples(t)
	for _, how := range []string{"same message retried", "older event for the record"} {
		t.Run(how, func(t *testing.T) {
			r := newRig(t)
			var down atomic.Bool
			down.Store(true)
			r.deps.Queue = &faultyQueue{Queue: r.q, fail: func(name string, _ queue.Outgoing) error {
				if name == envelope.QueueNotifications && down.Load() {
					return errors.New("sqs: connection reset")
				}
				return nil
			}}
			h := r.handler(Payments)
			m := msg(t, one(t, all, "stripe/payment_intent.succeeded"))
			if failed := r.handle(h, m); !slices.Equal(failed, []string{m.MessageId}) {
				t.Fatalf("failed = %v", failed)
			}
			rec := r.get(KindPayment, samplePI)
			if len(rec.Outbox) != 1 || rec.Outbox[0].ID != domain.SubjectEventID("evt_3RZx5a2eZvKYlo2C0sU3cC03", payments.EventPaymentSucceeded, "payment:"+samplePI) {
				t.Fatalf("outbox = %+v, want the pending payment.succeeded", rec.Outbox)
			}
			down.Store(false)
			next := m
			if how != "same message retried" {
				// processing is older than succeeded: it changes nothing.
				next = msg(t, one(t, all, "stripe/payment_intent.processing"))
			}
			if failed := r.handle(h, next); len(failed) != 0 {
				t.Fatalf("failed = %v", failed)
			}
			if n := r.notified()[payments.EventPaymentSucceeded]; n != 1 {
				t.Fatalf("payment.succeeded sent %d times", n)
			}
			after := r.get(KindPayment, samplePI)
			if len(after.Outbox) != 0 {
				t.Fatalf("outbox left: %+v", after.Outbox)
			}
			if decode[payments.Payment](t, after).Status != payments.StatusSucceeded {
				t.Fatal("status regressed")
			}
			// Replaying now sends no domain event again.
			if failed := r.handle(h, m); len(failed) != 0 {
				t.Fatal(failed)
			}
			if n := r.notified()[payments.EventPaymentSucceeded]; n != 1 {
				t.Fatalf("payment.succeeded sent %d times after replay", n)
			}
		})
	}
}

func TestClaimCheckBody(t *testing.T) {
	r := newRig(t)
	blobs, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	all := samples(t)
	env := one(t, all, "stripe/payment_intent.succeeded")
	ref, err := blobs.Put(context.Background(), "bodies/stripe/"+env.ID, env.Body)
	if err != nil {
		t.Fatal(err)
	}
	env.Body, env.BodyRef = nil, ref
	t.Run("no blob store configured is transient", func(t *testing.T) {
		m := msg(t, env)
		if failed := r.handle(r.handler(Payments), m); !slices.Equal(failed, []string{m.MessageId}) {
			t.Fatalf("failed = %v", failed)
		}
	})
	r.deps.Blobs = blobs
	if failed := r.handle(r.handler(Payments), msg(t, env)); len(failed) != 0 {
		t.Fatalf("failed = %v\n%s", failed, r.logs)
	}
	if p := decode[payments.Payment](t, r.get(KindPayment, samplePI)); p.Status != payments.StatusSucceeded {
		t.Fatalf("payment = %+v", p)
	}
}

func TestPanicIsDeadLettered(t *testing.T) {
	r := newRig(t)
	h := newHandler(Relay, r.deps, func(context.Context, *Writer, envelope.Envelope) error {
		var m map[string]int
		m["boom"]++ // nil map write
		return nil
	})
	all := samples(t)
	m := msg(t, one(t, all, "github/push"))
	if failed := r.handle(h, m); len(failed) != 0 {
		t.Fatalf("failed = %v", failed)
	}
	dlq := r.sent(queue.DLQ(Relay))
	if len(dlq) != 1 || !strings.HasPrefix(dlq[0].Attributes[queue.AttrReason], "panic: ") {
		t.Fatalf("dlq = %+v", dlq)
	}
	if !strings.Contains(r.logs.String(), `"stack":`) {
		t.Fatal("the panic's stack is not logged")
	}
}

// TestLogLines: one line per message with the event id as correlation id,
// the EMF metrics, and no body bytes.
func TestLogLines(t *testing.T) {
	r := newRig(t)
	all := samples(t)
	env := one(t, all, "livechat/incoming_chat")
	bad := rawMsg(`{"v":1,"id":"x","provider":"livechat","event_id":"e","type":"incoming_chat","queue":"relay","body":"{\"action\":\"incoming_chat\",\"secret_key\":\"s3cr3t-value\"}"}`)
	if failed := r.handle(r.handler(Relay), msg(t, env), bad); len(failed) != 0 {
		t.Fatal(failed)
	}
	sc := bufio.NewScanner(strings.NewReader(r.logs.String()))
	sc.Buffer(nil, 1<<20)
	var lines []map[string]any
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l["msg"] == "event" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 {
		t.Fatalf("%d event lines, want 2:\n%s", len(lines), r.logs)
	}
	byStatus := map[string]map[string]any{}
	for _, l := range lines {
		byStatus[l["status"].(string)] = l
		if l["processor"] != Relay || l["_aws"] == nil || l["Processor"] != Relay {
			t.Fatalf("line lacks processor/EMF: %v", l)
		}
	}
	ok := byStatus["processed"]
	if ok == nil || ok["event_id"] != env.EventID || ok["EventsProcessed"] != 1.0 || ok["EventsDeadLettered"] != 0.0 {
		t.Fatalf("processed line = %v", ok)
	}
	if dead := byStatus["dead"]; dead == nil || dead["event_id"] != "e" || dead["EventsDeadLettered"] != 1.0 {
		t.Fatalf("dead line = %v", byStatus["dead"])
	}
	for _, secret := range []string{"s3cr3t-value", "Jenny Rosen", "jenny.rosen@example.com"} {
		if strings.Contains(r.logs.String(), secret) {
			t.Fatalf("log contains body content %q", secret)
		}
	}
}

func TestUnhandledTypesAreForwardedOnly(t *testing.T) {
	all := samples(t)
	tests := []struct {
		processor, sample, raw string
	}{
		{Payments, "stripe/customer.created", "stripe.customer.created"},
		{Relay, "github/push", "github.push"},
		{Relay, "zoom/meeting.started", "zoom.meeting.started"},
		{Relay, "twilio/message.status", "twilio.message.status"},
		{Relay, "slack/app_mention", "slack.app_mention"},
		{Inventory, "shopify/orders_create", "shopify.orders/create"},
	}
	for _, tt := range tests {
		t.Run(tt.sample, func(t *testing.T) {
			r := newRig(t)
			if failed := r.handle(r.handler(tt.processor), msg(t, one(t, all, tt.sample))); len(failed) != 0 {
				t.Fatalf("failed = %v\n%s", failed, r.logs)
			}
			if got := r.notified(); len(got) != 1 || got[tt.raw] != 1 {
				t.Fatalf("notifications = %v, want only %s", got, tt.raw)
			}
			if len(r.sent(queue.DLQ(tt.processor))) != 0 {
				t.Fatal("dead-lettered")
			}
			for _, kind := range []string{KindPayment, KindSubscription, KindInventory, KindLead, KindChat, KindAlias} {
				if recs, _ := r.base.List(context.Background(), kind, 0); len(recs) != 0 {
					t.Fatalf("%d %s records written", len(recs), kind)
				}
			}
		})
	}
}

func TestSubscriptionLifecycle(t *testing.T) {
	r := newRig(t)
	all := samples(t)
	h := r.handler(Payments)
	for _, name := range []string{"stripe/customer.subscription.created", "stripe/invoice.paid", "stripe/customer.subscription.deleted"} {
		if failed := r.handle(h, msg(t, one(t, all, name))); len(failed) != 0 {
			t.Fatalf("%s: %v", name, failed)
		}
	}
	s := decode[payments.Subscription](t, r.get(KindSubscription, sampleCustomer))
	if s.Status != payments.SubCanceled || s.Premium || s.LastInvoice.ID == "" {
		t.Fatalf("subscription = %+v", s)
	}
	got := r.notified()
	if got[payments.EventSubscriptionActivated] != 1 || got[payments.EventSubscriptionCanceled] != 1 {
		t.Fatalf("notifications = %v", got)
	}
}

// TestInventorySKUMerge: a warehouse adjustment known only by sku arrives
// before products/update maps the sku; the sku record is merged into the
// item and later adjustments go to the item directly.
func TestInventorySKUMerge(t *testing.T) {
	r := newRig(t)
	all := samples(t)
	h := r.handler(Inventory)
	adjusted := one(t, all, "standard/inventory.adjusted")
	for _, m := range []events.SQSMessage{msg(t, adjusted), msg(t, one(t, all, "shopify/products_update")), msg(t, one(t, all, "shopify/inventory_levels_update"))} {
		if failed := r.handle(h, m); len(failed) != 0 {
			t.Fatalf("failed = %v\n%s", failed, r.logs)
		}
	}
	item := decode[inventory.Item](t, r.get(KindInventory, sampleItem))
	if item.SKU != "HS-TEE-M" || item.Locations["wh-reno"].Available != 40 || item.Available != 43 {
		t.Fatalf("item = %+v", item)
	}
	tomb := decode[inventory.Item](t, r.get(KindInventory, "sku:HS-TEE-M"))
	if tomb.MergedInto != sampleItem {
		t.Fatalf("sku record = %+v, want a tombstone", tomb)
	}
	if into, ok, err := r.handler(Inventory).Writer().Alias(context.Background(), AliasSKU+"HS-TEE-M"); err != nil || !ok || into != sampleItem {
		t.Fatalf("alias = %q %v %v", into, ok, err)
	}
	// A later adjustment by sku goes straight to the item.
	later := editBody(t, adjusted, `"available": 40`, `"available": 41`)
	later = editBody(t, later, `16:59:58Z`, `18:00:00Z`)
	later.EventID = "msg_later"
	if failed := r.handle(h, msg(t, later)); len(failed) != 0 {
		t.Fatal(failed)
	}
	if item := decode[inventory.Item](t, r.get(KindInventory, sampleItem)); item.Available != 44 {
		t.Fatalf("item = %+v", item)
	}
}

func TestInventoryPerItemThreshold(t *testing.T) {
	all := samples(t)
	level := one(t, all, "shopify/inventory_levels_update") // available 3
	for _, tt := range []struct {
		name      string
		threshold *int64
		want      string
	}{
		{"default threshold 5", nil, inventory.EventLowStock},
		{"item threshold 2", ptr(int64(2)), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			if tt.threshold != nil {
				if err := SetLowThreshold(context.Background(), r.base, sampleItem, tt.threshold); err != nil {
					t.Fatal(err)
				}
			}
			if failed := r.handle(r.handler(Inventory), msg(t, level)); len(failed) != 0 {
				t.Fatal(failed)
			}
			got := r.notified()
			if tt.want != "" && got[tt.want] != 1 {
				t.Fatalf("notifications = %v, want %s", got, tt.want)
			}
			if tt.want == "" && got[inventory.EventLowStock]+got[inventory.EventOutOfStock] != 0 {
				t.Fatalf("notifications = %v, want no threshold event", got)
			}
			item := decode[inventory.Item](t, r.get(KindInventory, sampleItem))
			if item.Available != 3 || (tt.threshold != nil && (item.LowThreshold == nil || *item.LowThreshold != *tt.threshold)) {
				t.Fatalf("item = %+v", item)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestLeadsMergeAcrossSources: HubSpot creates a contact without email,
// then reveals it; Salesforce knows the same person by email.
func TestLeadsMergeAcrossSources(t *testing.T) {
	r := newRig(t)
	all := samples(t)
	h := r.handler(Leads)
	var msgs []events.SQSMessage
	for _, name := range []string{"hubspot/contact.creation", "hubspot/contact.propertyChange", "salesforce/lead"} {
		for _, env := range all[name] {
			msgs = append(msgs, msg(t, env))
		}
	}
	for _, m := range msgs {
		if failed := r.handle(h, m); len(failed) != 0 {
			t.Fatalf("failed = %v\n%s", failed, r.logs)
		}
	}
	lead := decode[leads.Lead](t, r.get(KindLead, "sam.lee@example.com"))
	if lead.Company == "" || lead.Sources["hubspot:51234567890"].EventID == "" || len(lead.Sources) < 2 {
		t.Fatalf("lead = %+v", lead)
	}
	if tomb := decode[leads.Lead](t, r.get(KindLead, "hubspot:51234567890")); tomb.MergedInto != "sam.lee@example.com" {
		t.Fatalf("source record = %+v", tomb)
	}
	if got := r.notified(); got[leads.EventLeadCreated] < 2 || got[leads.EventLeadUpdated] < 1 {
		t.Fatalf("notifications = %v", got)
	}
}

func TestRelayChatsAndTasks(t *testing.T) {
	r := newRig(t)
	all := samples(t)
	h := r.handler(Relay)
	// Closed first, opened late: the chat stays closed.
	for _, name := range []string{"livechat/chat_deactivated", "livechat/incoming_chat", "trello/updateCard"} {
		if failed := r.handle(h, msg(t, one(t, all, name))); len(failed) != 0 {
			t.Fatalf("%s: %v\n%s", name, failed, r.logs)
		}
	}
	chat := decode[relay.Chat](t, r.get(KindChat, sampleChat))
	if chat.Status != relay.StatusClosed || chat.Customer.Email == "" {
		t.Fatalf("chat = %+v", chat)
	}
	got := r.notified()
	if got[relay.EventTaskCompleted] != 1 || got["livechat.incoming_chat"] != 1 || got["trello.updateCard"] != 1 {
		t.Fatalf("notifications = %v", got)
	}
	for _, m := range r.sent(envelope.QueueNotifications) {
		if strings.Contains(string(m.Body), "secret_key") {
			t.Fatal("a livechat secret_key was forwarded")
		}
	}
}

func TestNew(t *testing.T) {
	for _, n := range Names {
		h, err := New(n, Deps{}, Config{})
		if err != nil || h.Name() != n {
			t.Fatalf("New(%s) = %v, %v", n, h, err)
		}
	}
	if _, err := New("fanout", Deps{}, Config{}); err == nil {
		t.Fatal("unknown processor accepted")
	}
}

func TestIsPermanent(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"marked", Permanent(errors.New("x")), true},
		{"envelope", fmt.Errorf("decode: %w", envelope.ErrMalformed), true},
		{"stripe", fmt.Errorf("x: %w", payments.ErrMalformed), true},
		{"inventory", inventory.ErrMalformed, true},
		{"leads", leads.ErrMalformed, true},
		{"relay", relay.ErrMalformed, true},
		{"key the store cannot hold", fmt.Errorf("put: %w", store.ErrInvalid), true},
		{"too large", store.ErrTooLarge, true},
		{"unavailable", store.ErrUnavailable, false},
		{"conflict", store.ErrConflict, false},
		{"deadline", context.DeadlineExceeded, false},
		{"permanent but transient cause", Permanent(store.ErrUnavailable), false},
		{"anything else", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.want {
				t.Fatalf("IsPermanent(%v) = %v", tt.err, got)
			}
		})
	}
}

func TestReason(t *testing.T) {
	long := strings.Repeat("é", 2000)
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"line\nbreak\x00", "line break "},
		{"bad \xff utf8", "bad \uFFFD utf8"},
		{"", "unknown error"},
	}
	for _, tt := range tests {
		if got := reason(errors.New(tt.in)); got != tt.want {
			t.Errorf("reason(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := reason(errors.New(long)); len(got) > maxReasonBytes || !strings.HasPrefix(long, got) {
		t.Errorf("long reason: %d bytes", len(got))
	}
}

func TestConfigFromEnv(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		lowStock    int64
		doneLists   []string
		maxReceives int
		bad         bool
	}{
		{"defaults", nil, 5, relay.DefaultDoneLists, DefaultMaxReceives, false},
		{"set", map[string]string{EnvLowStock: "12", EnvDoneLists: "Shipped, Closed", EnvMaxReceives: "7"}, 12, []string{"Shipped", "Closed"}, 7, false},
		{"low stock 0 means 0", map[string]string{EnvLowStock: "0"}, 0, relay.DefaultDoneLists, DefaultMaxReceives, false},
		{"max receives 0 leaves it to the queue", map[string]string{EnvMaxReceives: "0"}, 5, relay.DefaultDoneLists, 0, false},
		{"negative low stock", map[string]string{EnvLowStock: "-1"}, 0, nil, 0, true},
		{"word low stock", map[string]string{EnvLowStock: "five"}, 0, nil, 0, true},
		{"fraction low stock", map[string]string{EnvLowStock: "1.5"}, 0, nil, 0, true},
		{"negative max receives", map[string]string{EnvMaxReceives: "-1"}, 0, nil, 0, true},
		{"word max receives", map[string]string{EnvMaxReceives: "many"}, 0, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.bad {
				if err == nil {
					t.Fatalf("%v accepted", tt.env)
				}
				return
			}
			if err != nil || cfg.Inventory.LowStock == nil || *cfg.Inventory.LowStock != tt.lowStock ||
				!slices.Equal(cfg.Relay.DoneLists, tt.doneLists) || cfg.MaxReceives != tt.maxReceives {
				t.Fatalf("cfg = %+v, %v", cfg, err)
			}
			if got := (inventory.Item{}).Threshold(cfg.Inventory); got != tt.lowStock {
				t.Fatalf("threshold %d, want %d", got, tt.lowStock)
			}
		})
	}
}

func TestParseFaults(t *testing.T) {
	tests := []struct {
		spec  string
		rules int
		bad   bool
	}{
		{"", 0, false},
		{"store.put:fail-once-key=payment/pi_1", 1, false},
		{"store.put:fail-key=inventory/sku:A/B; store.get:fail-once-key=lead/hubspot:1", 2, false},
		{"store.put:fail-once-key=payment", 0, true},
		{"store.delete:fail-key=payment/x", 0, true},
		{"store.put:sometimes=payment/x", 0, true},
		{"nonsense", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			f, err := ParseFaults(tt.spec)
			if (err != nil) != tt.bad {
				t.Fatalf("err = %v", err)
			}
			n := 0
			if f != nil {
				n = len(f.rules)
			}
			if n != tt.rules {
				t.Fatalf("%d rules, want %d", n, tt.rules)
			}
		})
	}
	f, _ := ParseFaults("store.put:fail-once-key=inventory/sku:A/B")
	if !f.hit(store.OpPut, "inventory", "sku:A/B") || f.hit(store.OpPut, "inventory", "sku:A/B") || f.hit(store.OpGet, "inventory", "sku:A/B") {
		t.Fatal("fail-once must fail the first put only")
	}
}

// FuzzHandle: whatever a queue message holds, Handle neither panics nor
// loses it: each message is processed, dead-lettered or retried.
func FuzzHandle(f *testing.F) {
	all := samples(f)
	for _, name := range []string{"stripe/payment_intent.succeeded", "livechat/incoming_chat", "shopify/inventory_levels_update", "standard/lead.created"} {
		f.Add(encode(f, one(f, all, name)))
	}
	f.Add(`{"v":1,"id":"x","provider":"stripe","event_id":"e","type":"charge.refunded","queue":"payments","body":"{}"}`)
	f.Add(`{"v":1,"id":"x","provider":"livechat","type":"incoming_chat","body":"[1,2"}`)
	f.Add("\x00")
	r := newRig(f)
	handlers := make([]*Handler, 0, len(Names))
	for _, n := range Names {
		handlers = append(handlers, r.handler(n))
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, h := range handlers {
			resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Body: body}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.BatchItemFailures) > 1 {
				t.Fatalf("failures = %v", resp.BatchItemFailures)
			}
		}
	})
}
