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
