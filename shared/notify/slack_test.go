package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/relay"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// slackCases are events shaped like the processors' Data.
func slackCases(t *testing.T) map[string]domain.Event {
	at := fixedNow.Add(-time.Minute)
	mk := func(typ, subject, source string, data any) domain.Event {
		return domain.New(typ, subject, source, "evt_1", at, data)
	}
	return map[string]domain.Event{
		"task_completed": mk("task.completed", "task:c1", "trello", map[string]string{
			"card_id": "c1", "card_name": "Ship <v2> & celebrate", "board_id": "b1", "board_name": "Roadmap", "list_before": "Doing", "list_after": "Done"}),
		"payment_succeeded": mk("payment.succeeded", "payment:pi_123", "stripe", samplePayment),
		"payment_failed":    mk("payment.failed", "payment:pi_9", "stripe", paymentData{ID: "pi_9", Status: "failed", Amount: 500, Currency: "jpy", Customer: "cus_1"}),
		"inventory_low_stock": mk("inventory.low_stock", "inventory:4914", "shopify", map[string]any{
			"inventory_item_id": "4914", "sku": "MUG-1", "title": "Blue mug", "available": 3, "threshold": 5}),
		"inventory_out_of_stock": mk("inventory.out_of_stock", "inventory:4914", "shopify", map[string]any{
			"inventory_item_id": "4914", "sku": "MUG-1", "title": "Blue mug", "available": 0, "threshold": 5}),
		"lead_created": mk("lead.created", "lead:ada@example.com", "hubspot", map[string]string{
			"key": "ada@example.com", "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace", "company": "Analytical Engines", "source": "hubspot", "provider": "hubspot"}),
		"support_chat_closed": mk("support.chat_closed", "chat:PJ0M", "livechat", map[string]any{
			"chat_id": "PJ0M", "thread_id": "T1", "status": "closed",
			"customer":   map[string]string{"id": "u1", "name": "Grace", "email": "grace@example.com"},
			"timestamps": map[string]string{"started_at": "2026-11-29T17:40:00Z", "closed_at": "2026-11-29T17:52:30Z"}}),
		"generic_github_push":         mk("github.push", "github:d1", "github", map[string]any{"ref": "refs/heads/main", "pusher": map[string]string{"name": "<!channel>"}}),
		"generic_no_data":             mk("subscription.canceled", "subscription:cus_1", "stripe", nil),
		"payment_bad_data_falls_back": {ID: "x", Type: "payment.succeeded", Source: "stripe", Data: json.RawMessage(`"not an object"`)},
		// Late milestones (their webhook came after newer ones): the
		// processors' late data, the event's own time, a "(late)" marker.
		"payment_succeeded_late": late(mk("payment.succeeded", "payment:pi_123", "stripe", map[string]any{
			"id": "pi_123", "status": "succeeded", "amount": 2000, "amount_refunded": 2000, "currency": "usd", "customer": "cus_9", "late": true})),
		"support_chat_started_late": late(mk("support.chat_started", "chat:PJ0M", "livechat", map[string]any{
			"chat_id": "PJ0M", "thread_id": "T1", "status": "open", "late": true,
			"customer":   map[string]string{"id": "u1", "name": "Grace", "email": "grace@example.com"},
			"timestamps": map[string]string{"started_at": "2026-11-29T17:40:00Z", "closed_at": "2026-11-29T17:52:30Z"}})),
	}
}

func late(ev domain.Event) domain.Event {
	ev.Late = true
	return ev
}

// TestSlackLateMarker: a late event's message is its in-order message with
// " (late)" at the end of the summary (text and section, kept when a long
// summary is truncated), nothing else changed; an in-order message has no
// marker.
func TestSlackLateMarker(t *testing.T) {
	long := domain.New("task.completed", "task:x", "trello", "e", fixedNow, map[string]string{"card_id": "x", "card_name": strings.Repeat("a", 5000)})
	cases := slackCases(t)
	cases["long_summary"] = long
	for name, ev := range cases {
		if ev.Late {
			continue
		}
		t.Run(name, func(t *testing.T) {
			inOrder := RenderSlack(ev)
			if strings.Contains(inOrder.Text, "(late)") {
				t.Fatalf("in-order text %q has the late marker", inOrder.Text)
			}
			got := RenderSlack(late(ev))
			if !strings.HasSuffix(got.Text, " (late)") || got.Blocks[1].Text.Text != got.Text {
				t.Fatalf("late text %q, section %q", got.Text, got.Blocks[1].Text.Text)
			}
			if n := len([]rune(got.Text)); n > slackSectionMax {
				t.Fatalf("late text %d chars", n)
			}
			if base := strings.TrimSuffix(got.Text, " (late)"); !strings.HasPrefix(inOrder.Text, strings.TrimSuffix(base, "…")) {
				t.Fatalf("late text %q is not the in-order %q with a marker", got.Text, inOrder.Text)
			}
			// Everything but the summary is the in-order message.
			got.Text, got.Blocks[1].Text, inOrder.Text, inOrder.Blocks[1].Text = "", nil, "", nil
			a, _ := marshalJSON(got)
			b, _ := marshalJSON(inOrder)
			if !bytes.Equal(a, b) {
				t.Fatalf("late message differs beyond the summary:\n got %s\nwant %s", a, b)
			}
		})
	}
}

// TestPayloadLateInData: the http payload has no field of its own for a
// late event: lateness travels in the data the processor wrote, so an
// in-order event's payload stays byte for byte what it was.
func TestPayloadLateInData(t *testing.T) {
	ev := slackCases(t)["payment_succeeded_late"]
	a, err := Payload(Delivery{Event: ev})
	if err != nil {
		t.Fatal(err)
	}
	ev.Late = false
	b, err := Payload(Delivery{Event: ev})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || !strings.Contains(string(a), `"late":true`) {
		t.Fatalf("late payload %s, in-order %s", a, b)
	}
}

// TestSlackRequestShape: a local server playing Slack's incoming webhook
// checks each request exactly: POST, JSON content type, the golden body.
func TestSlackRequestShape(t *testing.T) {
	for name, ev := range slackCases(t) {
		t.Run(name, func(t *testing.T) {
			var body []byte
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/services/T0/B0/secret" {
					t.Errorf("request %s %s %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
				}
				if r.Header.Get("Webhook-Signature") != "" {
					t.Error("Slack request carries a webhook signature")
				}
				body, _ = io.ReadAll(r.Body)
				io.WriteString(w, "ok")
			})
			ep := Endpoint{ID: "ep_slack", Type: TypeSlack, URL: srv.URL + "/services/T0/B0/secret", Events: []string{"*"}, Enabled: true}
			res := testDeliverer(t).Attempt(context.Background(), delivery(ev, ep, 1), ep)
			if res.Outcome != Delivered || res.ResponseSnippet != "ok" {
				t.Fatalf("result %+v", res)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, body, "", "  "); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", "slack", name+".json")
			if *update {
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestSlackRequestShape -update)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("body differs from %s:\n%s", golden, pretty.Bytes())
			}
		})
	}
}

func TestSlackEscapesEventData(t *testing.T) {
	m := RenderSlack(slackCases(t)["generic_github_push"])
	b, _ := marshalJSON(m)
	if strings.Contains(string(b), "<!channel>") || !strings.Contains(string(b), "&lt;!channel&gt;") {
		t.Errorf("mention not escaped: %s", b)
	}
	task := RenderSlack(slackCases(t)["task_completed"])
	if !strings.Contains(task.Text, "Ship &lt;v2&gt; &amp; celebrate") {
		t.Errorf("task text %q", task.Text)
	}
}

func TestSlackLimits(t *testing.T) {
	big := strings.Repeat("a", 10000)
	ev := domain.New("task.completed", "task:x", "trello", "e", fixedNow, map[string]string{"card_id": "x", "card_name": big, "board_name": big})
	m := RenderSlack(ev)
	if n := len([]rune(m.Blocks[0].Text.Text)); n > slackHeaderMax {
		t.Errorf("header %d chars", n)
	}
	if n := len([]rune(m.Blocks[1].Text.Text)); n > slackSectionMax {
		t.Errorf("section %d chars", n)
	}
	for _, f := range m.Blocks[1].Fields {
		if n := len([]rune(f.Text)); n > slackFieldMax {
			t.Errorf("field %d chars", n)
		}
	}
}

func TestFormatAmount(t *testing.T) {
	for in, want := range map[[2]any]string{
		{int64(2000), "usd"}: "20.00 USD", {int64(5), "eur"}: "0.05 EUR", {int64(500), "jpy"}: "500 JPY",
		{int64(1234), "kwd"}: "1.234 KWD", {int64(-150), "gbp"}: "-1.50 GBP", {int64(0), "usd"}: "0.00 USD",
	} {
		if got := FormatAmount(in[0].(int64), in[1].(string)); got != want {
			t.Errorf("FormatAmount(%v) = %q, want %q", in, got, want)
		}
	}
}

func readEvent(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSlackRendersProcessorOutput feeds the processors' real emitted events
// (from the repository's sample payloads) to the renderer: each must get its
// own card, not the generic fallback, so a change of a processor's Data
// shape is caught here.
func TestSlackRendersProcessorOutput(t *testing.T) {
	emitted := map[string]domain.Event{}
	for _, name := range []string{"payment_intent.succeeded", "payment_intent.payment_failed"} {
		pe, err := payments.Parse(readEvent(t, "stripe/"+name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		_, _, out, err := payments.ApplyPayment(nil, pe)
		if err != nil || len(out) != 1 {
			t.Fatalf("%s: emitted %v, %v", name, out, err)
		}
		emitted[out[0].Type] = out[0]
	}
	re, err := relay.Parse(envelope.Envelope{Provider: "trello", Body: readEvent(t, "trello/updateCard.json")})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range relay.Tasks(re, relay.Config{}) {
		emitted[ev.Type] = ev
	}
	le, err := leads.ParseStandard("evt_lead", fixedNow, readEvent(t, "standard/lead.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, out, err := leads.Apply(nil, le.Key(nil), le); err == nil {
		for _, ev := range out {
			emitted[ev.Type] = ev
		}
	}
	want := map[string]string{
		"payment.succeeded": "Payment succeeded", "payment.failed": "Payment failed",
		"task.completed": "Task completed", "lead.created": "New lead",
	}
	for typ, header := range want {
		ev, ok := emitted[typ]
		if !ok {
			t.Errorf("the processors emitted no %s from the samples", typ)
			continue
		}
		m := RenderSlack(ev)
		if got := m.Blocks[0].Text.Text; got != header {
			t.Errorf("%s rendered with header %q (generic fallback?), want %q; data %s", typ, got, header, ev.Data)
		}
	}
}
