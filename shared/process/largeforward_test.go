package process

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/blob/fileblob"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/queue"
)

// TestLargeForwardGoesByReference: a verified Stripe event of about 500 KB
// (claim-checked by ingest) is processed with the dev server's
// notifications log on. Its raw forward is too large for a store record
// (store.MaxRecordBytes), so it travels without data, by the claim-check
// reference the deliverer resolves; the message is not dead-lettered. It
// was, with "record too large", when only forwards over 1 MiB went by
// reference.
func TestLargeForwardGoesByReference(t *testing.T) {
	for _, size := range []int{360 << 10, 500 << 10, 900 << 10} {
		t.Run(fmt.Sprintf("%dKiB", size>>10), func(t *testing.T) {
			r := newRig(t)
			r.deps.Notifications = true // as the dev server wires it
			blobs, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
			if err != nil {
				t.Fatal(err)
			}
			r.deps.Blobs = blobs
			env := one(t, samples(t), "stripe/payment_intent.succeeded")
			// A large metadata value, as a real event may carry.
			body := strings.Replace(string(env.Body), `"order_id": "6123"`, `"order_id": "6123", "notes": "`+strings.Repeat("n", size)+`"`, 1)
			if len(body) < size {
				t.Fatalf("sample has no metadata.order_id to grow (%d bytes)", len(body))
			}
			if env.BodyRef, err = blobs.Put(context.Background(), "bodies/stripe/"+env.ID, []byte(body)); err != nil {
				t.Fatal(err)
			}
			env.Body = nil
			if failed := r.handle(r.handler(Payments), msg(t, env)); len(failed) != 0 {
				t.Fatalf("failed = %v\nlogs:\n%s", failed, r.logs)
			}
			if dlq := r.sent(queue.DLQ(Payments)); len(dlq) != 0 {
				t.Fatalf("dead-lettered: %s", dlq[0].Attributes[queue.AttrReason])
			}
			if p := decode[payments.Payment](t, r.get(KindPayment, samplePI)); p.Status != payments.StatusSucceeded {
				t.Fatalf("payment = %+v", p)
			}
			var forward int
			for _, m := range r.sent(envelope.QueueNotifications) {
				if len(m.Body) > maxNotificationBytes {
					t.Errorf("a %d-byte notification was sent", len(m.Body))
				}
				if !strings.Contains(string(m.Body), `"type":"stripe.payment_intent.succeeded"`) {
					continue
				}
				forward++
				var e domain.Event
				if err := json.Unmarshal(m.Body, &e); err != nil {
					t.Fatal(err)
				}
				if len(e.Data) != 0 || m.Attributes[AttrDataRef] != env.BodyRef {
					t.Errorf("raw forward: %d bytes of data, data_ref %q; want none, and %q", len(e.Data), m.Attributes[AttrDataRef], env.BodyRef)
				}
			}
			if forward != 1 {
				t.Fatalf("%d raw forwards, want 1", forward)
			}
		})
	}
}

// TestHTMLRichForwardKeepsItsData: a body ingest did not claim-check (its
// envelope is under 240 KiB) can still make a notification over the
// by-reference threshold, because encoding/json writes <, > and & as six
// bytes each. With no reference to point at, it must go inline with its
// data (it once went without any), and the dev server's notifications log,
// whose records stop at 350 KiB, keeps it without its data instead of
// failing the message.
func TestHTMLRichForwardKeepsItsData(t *testing.T) {
	for _, n := range []int{14_000, 29_000} { // about 110 KB and 230 KB of <b>x</b>
		t.Run(fmt.Sprintf("%d tags", n), func(t *testing.T) {
			r := newRig(t)
			r.deps.Notifications = true // as the dev server wires it
			env := one(t, samples(t), "stripe/payment_intent.succeeded")
			env.Body = []byte(strings.Replace(string(env.Body), `"order_id": "6123"`, `"order_id": "6123", "notes": "`+strings.Repeat("<b>x</b>", n)+`"`, 1))
			enc, err := envelope.Encode(env)
			if err != nil {
				t.Fatal(err)
			}
			if len(enc) > 240<<10 {
				t.Fatalf("envelope %d bytes: ingest would have claim-checked it", len(enc))
			}
			if failed := r.handle(r.handler(Payments), msg(t, env)); len(failed) != 0 {
				t.Fatalf("failed = %v\nlogs:\n%s", failed, r.logs)
			}
			if dlq := r.sent(queue.DLQ(Payments)); len(dlq) != 0 {
				t.Fatalf("dead-lettered: %s", dlq[0].Attributes[queue.AttrReason])
			}
			var forwards int
			for _, m := range r.sent(envelope.QueueNotifications) {
				var e domain.Event
				if err := json.Unmarshal(m.Body, &e); err != nil {
					t.Fatal(err)
				}
				if e.Type != "stripe.payment_intent.succeeded" {
					continue
				}
				forwards++
				var data struct {
					Data struct {
						Object struct {
							Metadata struct {
								Notes string `json:"notes"`
							} `json:"metadata"`
						} `json:"object"`
					} `json:"data"`
				}
				if err := json.Unmarshal(e.Data, &data); err != nil || data.Data.Object.Metadata.Notes != strings.Repeat("<b>x</b>", n) {
					t.Fatalf("raw forward of %d bytes lost its data (%v); data_ref %q", len(m.Body), err, m.Attributes[AttrDataRef])
				}
			}
			if forwards != 1 {
				t.Fatalf("%d raw forwards, want 1", forwards)
			}
		})
	}
}
