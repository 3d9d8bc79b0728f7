// Package queuetest is the contract every queue.Queue adapter passes: the
// embedded queue (localq) and SQS (sqsq, against the emulator) run the same
// suite, so `hookstack dev` behaves like AWS where the pipeline relies on it.
//
// The suite asserts only what SQS and the adapters do alike. Where SQS is
// loose it says so:
//   - Deleting with a stale receipt handle (the message was received again
//     since): SQS usually deletes the message anyway and returns success; the
//     SQS emulator returns success without deleting; localq returns
//     queue.ErrReceiptInvalid without deleting. The suite accepts nil or
//     ErrReceiptInvalid, then deletes with the current handle and checks the
//     message is gone for good.
//   - Deleting with a malformed handle: SQS answers ReceiptHandleIsInvalid,
//     the emulator success. The suite accepts nil or ErrReceiptInvalid.
//     ChangeVisibility with a malformed or finished handle is
//     ErrReceiptInvalid everywhere.
//   - Characters above U+FFFF (emoji) are valid in SQS but rejected by the
//     fauxqs emulator; the suite's bodies stay in the Basic Multilingual
//     Plane. (Envelopes carry the raw body base64-encoded anyway.)
//   - Standard SQS queues are at-least-once: a real queue may, rarely, hand
//     out a message twice. The concurrency test expects exactly-once from
//     the emulator and localq.
//
// SQS counts time in whole seconds, so the suite uses 1–3 s timeouts and
// runs its subtests in parallel; it takes a few seconds.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
)

// Factory returns a queue.Queue in which every name in names exists with its
// dead-letter queue queue.DLQ(name), with redrive after maxReceive receives.
// Each call must give fresh, empty queues. Adapters must also implement
// queue.Redriver and queue.BatchSender.
type Factory func(t *testing.T, names []string, maxReceive int) queue.Queue

// Run runs the contract against newQueue.
func Run(t *testing.T, newQueue func(t *testing.T, names []string, maxReceive int) queue.Queue) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, nq Factory)
	}{
		{"RoundTrip", testRoundTrip},
		{"SendKeepsNoBuffer", testSendKeepsNoBuffer},
		{"EmptyReceive", testEmptyReceive},
		{"ReceiveAtMostMax", testReceiveAtMostMax},
		{"VisibilityHidesUntilLapse", testVisibility},
		{"ChangeVisibility", testChangeVisibility},
		{"DeleteAcknowledges", testDelete},
		{"StaleReceiptHandle", testStaleReceipt},
		{"MalformedReceiptHandle", testMalformedReceipt},
		{"ReceiveCountIncrements", testReceiveCount},
		{"MaxReceiveMovesToDLQ", testDeadLetter},
		{"Delay", testDelay},
		{"LongPollReturnsEarly", testLongPollEarly},
		{"LongPollWaits", testLongPollWaits},
		{"LongPollHonoursContext", testLongPollContext},
		{"UnknownQueue", testUnknownQueue},
		{"InvalidMessages", testInvalidMessages},
		{"Redrive", testRedrive},
		{"Concurrency", testConcurrency},
		{"SendBatchOrderAndAttributes", testSendBatchOrder},
		{"SendBatchMoreThanTen", testSendBatchMany},
		{"SendBatchLargerThanOneRequest", testSendBatchLarge},
		{"SendBatchDelay", testSendBatchDelay},
		{"SendBatchEmpty", testSendBatchEmpty},
		{"SendBatchUnknownQueue", testSendBatchUnknownQueue},
		{"SendBatchInvalidEntryFailsAlone", testSendBatchInvalidEntry},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newQueue)
		})
	}
}

const (
	src = "work"
	// long enough never to lapse during a test
	longVis = 30 * time.Second
)

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func send(t *testing.T, q queue.Queue, name string, m queue.Outgoing) string {
	t.Helper()
	id, err := q.Send(ctxFor(t), name, m)
	if err != nil {
		t.Fatalf("Send(%s): %v", name, err)
	}
	if id == "" {
		t.Fatalf("Send(%s) returned an empty id", name)
	}
	return id
}

func receive(t *testing.T, q queue.Queue, name string, max int, vis, wait time.Duration) []queue.Message {
	t.Helper()
	msgs, err := q.Receive(ctxFor(t), name, max, vis, wait)
	if err != nil {
		t.Fatalf("Receive(%s): %v", name, err)
	}
	if len(msgs) > max {
		t.Fatalf("Receive(%s, max=%d) returned %d messages", name, max, len(msgs))
	}
	return msgs
}

// receiveOne waits up to wait for exactly one message.
func receiveOne(t *testing.T, q queue.Queue, name string, vis, wait time.Duration) queue.Message {
	t.Helper()
	msgs := receive(t, q, name, 1, vis, wait)
	if len(msgs) != 1 {
		t.Fatalf("Receive(%s): got %d messages, want 1", name, len(msgs))
	}
	if msgs[0].ReceiptHandle == "" {
		t.Fatalf("Receive(%s): empty receipt handle", name)
	}
	return msgs[0]
}

func expectNone(t *testing.T, q queue.Queue, name string, wait time.Duration) {
	t.Helper()
	if msgs := receive(t, q, name, 10, longVis, wait); len(msgs) != 0 {
		t.Fatalf("Receive(%s): got %d unexpected messages, first body %q", name, len(msgs), msgs[0].Body)
	}
}

func attrsEqual(a, b map[string]string) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return maps.Equal(a, b)
}

func checkSame(t *testing.T, got queue.Message, body string, attrs map[string]string) {
	t.Helper()
	if string(got.Body) != body {
		t.Errorf("body = %q, want %q", got.Body, body)
	}
	if !attrsEqual(got.Attributes, attrs) {
		t.Errorf("attributes = %v, want %v", got.Attributes, attrs)
	}
}

// testSendKeepsNoBuffer: Send must not keep the caller's body once it
// returns (ingest reuses its envelope buffers): overwriting the buffer after
// Send does not change what is received.
func testSendKeepsNoBuffer(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	buf := []byte(`{"id":"evt_keep"}`)
	send(t, q, src, queue.Outgoing{Body: buf})
	copy(buf, `{"id":"xxx_xxxx"}`)
	if m := receiveOne(t, q, src, longVis, 5*time.Second); string(m.Body) != `{"id":"evt_keep"}` {
		t.Fatalf("received %q: the queue kept the caller's buffer", m.Body)
	}
}

func testRoundTrip(t *testing.T, nq Factory) {
	q := nq(t, []string{src, "other"}, 5)
	// Non-ASCII from the Basic Multilingual Plane only: SQS accepts
	// U+10000 and above (emoji), the fauxqs emulator wrongly rejects them.
	body := `{"id":"evt_1","note":"wörld ✓ €","n":1}`
	attrs := map[string]string{"provider": "stripe", queue.AttrReason: "invalid json: line 1"}
	before := time.Now()
	id := send(t, q, src, queue.Outgoing{Body: []byte(body), Attributes: attrs})
	after := time.Now()
	id2 := send(t, q, src, queue.Outgoing{Body: []byte("plain")})
	if id2 == id {
		t.Fatalf("two sends returned the same id %q", id)
	}

	expectNone(t, q, "other", 0) // queues are separate

	got := map[string]queue.Message{}
	for len(got) < 2 {
		msgs := receive(t, q, src, 10, longVis, 2*time.Second)
		if len(msgs) == 0 {
			t.Fatalf("received %d of 2 messages", len(got))
		}
		for _, m := range msgs {
			if _, dup := got[m.ID]; dup {
				t.Fatalf("message %s received twice", m.ID)
			}
			got[m.ID] = m
		}
	}
	m, ok := got[id]
	if !ok {
		t.Fatalf("message %s not received; got ids %v", id, slicesKeys(got))
	}
	checkSame(t, m, body, attrs)
	if m.ReceiveCount != 1 {
		t.Errorf("ReceiveCount = %d, want 1", m.ReceiveCount)
	}
	// SQS SentTimestamp has millisecond resolution; allow clock slack.
	if m.SentAt.Before(before.Add(-2*time.Second)) || m.SentAt.After(after.Add(2*time.Second)) {
		t.Errorf("SentAt = %v, want within [%v, %v]", m.SentAt, before, after)
	}
	checkSame(t, got[id2], "plain", nil)
	if got[id2].ReceiptHandle == m.ReceiptHandle {
		t.Errorf("two messages share receipt handle %q", m.ReceiptHandle)
	}
	for _, m := range got {
		if err := q.Delete(ctxFor(t), src, m.ReceiptHandle); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	expectNone(t, q, src, 0)
}

func slicesKeys(m map[string]queue.Message) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func testEmptyReceive(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	start := time.Now()
	expectNone(t, q, src, 0)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Receive with wait 0 on an empty queue took %v", d)
	}
}

func testReceiveAtMostMax(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	for i := range 12 {
		send(t, q, src, queue.Outgoing{Body: fmt.Appendf(nil, "m%d", i)})
	}
	for _, max := range []int{3, 20} {
		msgs := receive(t, q, src, max, longVis, 2*time.Second)
		if len(msgs) == 0 || len(msgs) > min(max, 10) {
			t.Errorf("Receive(max=%d) returned %d messages, want 1..%d", max, len(msgs), min(max, 10))
		}
	}
}

func testVisibility(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	id := send(t, q, src, queue.Outgoing{Body: []byte("hidden")})
	first := receiveOne(t, q, src, 2*time.Second, 2*time.Second)
	received := time.Now()
	if first.ID != id {
		t.Fatalf("received id %s, want %s", first.ID, id)
	}
	expectNone(t, q, src, 0) // hidden while in flight

	again := receiveOne(t, q, src, longVis, 5*time.Second)
	if waited := time.Since(received); waited < 1500*time.Millisecond {
		t.Errorf("message reappeared after %v, visibility was 2s", waited)
	}
	if again.ID != id {
		t.Errorf("reappeared id %s, want %s", again.ID, id)
	}
	if again.ReceiveCount != 2 {
		t.Errorf("ReceiveCount = %d, want 2", again.ReceiveCount)
	}
	if again.ReceiptHandle == first.ReceiptHandle {
		t.Errorf("a new receive must give a new receipt handle")
	}
	checkSame(t, again, "hidden", nil)
}

func testChangeVisibility(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	send(t, q, src, queue.Outgoing{Body: []byte("extend me")})
	m := receiveOne(t, q, src, time.Second, 2*time.Second)
	if err := q.ChangeVisibility(ctxFor(t), src, m.ReceiptHandle, 4*time.Second); err != nil {
		t.Fatalf("ChangeVisibility(4s): %v", err)
	}
	time.Sleep(1500 * time.Millisecond) // the original 1s would have lapsed
	expectNone(t, q, src, 0)

	if err := q.ChangeVisibility(ctxFor(t), src, m.ReceiptHandle, 0); err != nil {
		t.Fatalf("ChangeVisibility(0): %v", err)
	}
	start := time.Now()
	again := receiveOne(t, q, src, longVis, 2*time.Second)
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("after ChangeVisibility(0) the message took %v to become visible", d)
	}
	if again.ID != m.ID || again.ReceiveCount != 2 {
		t.Errorf("got id %s count %d, want id %s count 2", again.ID, again.ReceiveCount, m.ID)
	}
}

func testDelete(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	send(t, q, src, queue.Outgoing{Body: []byte("ack me")})
	m := receiveOne(t, q, src, time.Second, 2*time.Second)
	if err := q.Delete(ctxFor(t), src, m.ReceiptHandle); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// Deleting again with the same (current) handle succeeds, as in SQS.
	if err := q.Delete(ctxFor(t), src, m.ReceiptHandle); err != nil {
		t.Errorf("second Delete with the same handle: %v, want nil", err)
	}
	// The message is no longer in flight: its handle cannot change visibility.
	if err := q.ChangeVisibility(ctxFor(t), src, m.ReceiptHandle, time.Second); !errors.Is(err, queue.ErrReceiptInvalid) {
		t.Errorf("ChangeVisibility after Delete: %v, want ErrReceiptInvalid", err)
	}
	time.Sleep(1500 * time.Millisecond) // past the visibility timeout
	expectNone(t, q, src, 0)
}

func testStaleReceipt(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	send(t, q, src, queue.Outgoing{Body: []byte("stale")})
	first := receiveOne(t, q, src, time.Second, 2*time.Second)
	second := receiveOne(t, q, src, 2*time.Second, 5*time.Second)
	if second.ID != first.ID || second.ReceiveCount != 2 {
		t.Fatalf("second receive: id %s count %d, want id %s count 2", second.ID, second.ReceiveCount, first.ID)
	}
	err := q.Delete(ctxFor(t), src, first.ReceiptHandle)
	if err != nil && !errors.Is(err, queue.ErrReceiptInvalid) {
		t.Fatalf("Delete with a stale handle: %v, want nil or ErrReceiptInvalid", err)
	}
	if err := q.Delete(ctxFor(t), src, second.ReceiptHandle); err != nil {
		t.Fatalf("Delete with the current handle: %v", err)
	}
	time.Sleep(2500 * time.Millisecond) // past the second visibility timeout
	expectNone(t, q, src, 0)
}

func testMalformedReceipt(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	send(t, q, src, queue.Outgoing{Body: []byte("x")})
	receiveOne(t, q, src, longVis, 2*time.Second) // the queue has a message in flight
	for _, h := range []string{"not-a-receipt-handle", "AQEB" + strings.Repeat("A", 40)} {
		if err := q.ChangeVisibility(ctxFor(t), src, h, time.Second); !errors.Is(err, queue.ErrReceiptInvalid) {
			t.Errorf("ChangeVisibility(%q): %v, want ErrReceiptInvalid", h, err)
		}
		if err := q.Delete(ctxFor(t), src, h); err != nil && !errors.Is(err, queue.ErrReceiptInvalid) {
			t.Errorf("Delete(%q): %v, want nil or ErrReceiptInvalid", h, err)
		}
	}
	expectNone(t, q, src, 0) // the in-flight message was not touched
}

func testReceiveCount(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	id := send(t, q, src, queue.Outgoing{Body: []byte("count")})
	for want := 1; want <= 4; want++ {
		m := receiveOne(t, q, src, longVis, 2*time.Second)
		if m.ID != id || m.ReceiveCount != want {
			t.Fatalf("receive %d: id %s count %d", want, m.ID, m.ReceiveCount)
		}
		if err := q.ChangeVisibility(ctxFor(t), src, m.ReceiptHandle, 0); err != nil {
			t.Fatalf("ChangeVisibility(0): %v", err)
		}
	}
}

// receiveUntilDead receives and releases the message maxReceive times; the
// next receive moves it to the DLQ (SQS redrive policy semantics).
func receiveUntilDead(t *testing.T, q queue.Queue, name, id string, maxReceive int) {
	t.Helper()
	for want := 1; want <= maxReceive; want++ {
		m := receiveOne(t, q, name, longVis, 2*time.Second)
		if m.ID != id || m.ReceiveCount != want {
			t.Fatalf("receive %d: id %s count %d, want id %s", want, m.ID, m.ReceiveCount, id)
		}
		if err := q.ChangeVisibility(ctxFor(t), name, m.ReceiptHandle, 0); err != nil {
			t.Fatalf("ChangeVisibility(0): %v", err)
		}
	}
}

func testDeadLetter(t *testing.T, nq Factory) {
	const maxReceive = 2
	q := nq(t, []string{src}, maxReceive)
	body := `{"poison":true}`
	attrs := map[string]string{"provider": "github", "type": "push"}
	id := send(t, q, src, queue.Outgoing{Body: []byte(body), Attributes: attrs})
	receiveUntilDead(t, q, src, id, maxReceive)

	expectNone(t, q, src, time.Second) // this receive moves it
	dead := receiveOne(t, q, queue.DLQ(src), longVis, 3*time.Second)
	checkSame(t, dead, body, attrs)
	if dead.ID != id {
		t.Errorf("DLQ message id %s, want the original %s (SQS keeps it)", dead.ID, id)
	}
	expectNone(t, q, src, 0)
}

func testDelay(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	sent := time.Now()
	send(t, q, src, queue.Outgoing{Body: []byte("later"), Delay: 2 * time.Second})
	expectNone(t, q, src, 0)
	m := receiveOne(t, q, src, longVis, 5*time.Second)
	if d := time.Since(sent); d < 1500*time.Millisecond {
		t.Errorf("delayed message visible after %v, delay was 2s", d)
	}
	checkSame(t, m, "later", nil)
}

func testLongPollEarly(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	errc := make(chan error, 1)
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, err := q.Send(ctxFor(t), src, queue.Outgoing{Body: []byte("wake up")})
		errc <- err
	}()
	start := time.Now()
	m := receiveOne(t, q, src, longVis, 10*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("long poll returned after %v, the message was sent after 300ms", d)
	}
	checkSame(t, m, "wake up", nil)
	if err := <-errc; err != nil {
		t.Fatalf("Send: %v", err)
	}
}

func testLongPollWaits(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	start := time.Now()
	expectNone(t, q, src, time.Second)
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Errorf("Receive(wait=1s) on an empty queue returned after %v; it must wait", d)
	}
}

func testLongPollContext(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	ctx, cancel := context.WithCancel(ctxFor(t))
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	msgs, err := q.Receive(ctx, src, 1, longVis, 10*time.Second)
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Receive returned %v after its context was canceled", d-300*time.Millisecond)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Receive after cancel: %d messages, err %v; want context.Canceled", len(msgs), err)
	}
}

func testUnknownQueue(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	const name = "no-such-queue"
	ctx := ctxFor(t)
	checks := map[string]error{}
	_, checks["Send"] = q.Send(ctx, name, queue.Outgoing{Body: []byte("x")})
	_, checks["Receive"] = q.Receive(ctx, name, 1, time.Second, 0)
	checks["Delete"] = q.Delete(ctx, name, "handle")
	checks["ChangeVisibility"] = q.ChangeVisibility(ctx, name, "handle", time.Second)
	_, checks["Redrive from unknown"] = redriver(t, q).Redrive(ctx, name, src)
	_, checks["Redrive to unknown"] = redriver(t, q).Redrive(ctx, queue.DLQ(src), name)
	for op, err := range checks {
		if !errors.Is(err, queue.ErrUnknownQueue) {
			t.Errorf("%s(%q): %v, want ErrUnknownQueue", op, name, err)
		}
	}
}

func testInvalidMessages(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	many := map[string]string{}
	for i := range 11 {
		many[fmt.Sprintf("a%d", i)] = "v"
	}
	tests := []struct {
		name string
		m    queue.Outgoing
	}{
		{"empty body", queue.Outgoing{}},
		{"NUL in body", queue.Outgoing{Body: []byte("a\x00b")}},
		{"invalid UTF-8", queue.Outgoing{Body: []byte{'a', 0xff, 'b'}}},
		{"over 1 MiB", queue.Outgoing{Body: []byte(strings.Repeat("x", 1<<20+1))}},
		{"empty attribute value", queue.Outgoing{Body: []byte("x"), Attributes: map[string]string{"reason": ""}}},
		{"bad attribute name", queue.Outgoing{Body: []byte("x"), Attributes: map[string]string{"bad name": "v"}}},
		{"reserved attribute name", queue.Outgoing{Body: []byte("x"), Attributes: map[string]string{"AWS.trace": "v"}}},
		{"eleven attributes", queue.Outgoing{Body: []byte("x"), Attributes: many}},
		{"delay over 15m", queue.Outgoing{Body: []byte("x"), Delay: 16 * time.Minute}},
		{"negative delay", queue.Outgoing{Body: []byte("x"), Delay: -time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := q.Send(ctxFor(t), src, tc.m)
			if err == nil {
				t.Fatal("Send accepted a message SQS rejects")
			}
			if errors.Is(err, queue.ErrUnknownQueue) || !errors.Is(err, queue.ErrRejected) {
				t.Fatalf("Send: %v, want queue.ErrRejected (sending it again will fail again), as SendBatch says", err)
			}
		})
	}
	expectNone(t, q, src, 0)
}

func redriver(t *testing.T, q queue.Queue) queue.Redriver {
	t.Helper()
	r, ok := q.(queue.Redriver)
	if !ok {
		t.Fatalf("%T does not implement queue.Redriver", q)
	}
	return r
}

func testRedrive(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 1)
	r := redriver(t, q)
	want := map[string]map[string]string{}
	for i := range 3 {
		body := fmt.Sprintf(`{"n":%d}`, i)
		attrs := map[string]string{"n": fmt.Sprint(i)}
		want[body] = attrs
		id := send(t, q, src, queue.Outgoing{Body: []byte(body), Attributes: attrs})
		receiveUntilDead(t, q, src, id, 1)
	}
	expectNone(t, q, src, time.Second) // moves all three

	moved, err := r.Redrive(ctxFor(t), queue.DLQ(src), src)
	if err != nil {
		t.Fatalf("Redrive: %v", err)
	}
	if moved != 3 {
		t.Errorf("Redrive moved %d, want 3", moved)
	}
	got := map[string]bool{}
	for len(got) < 3 {
		msgs := receive(t, q, src, 10, longVis, 3*time.Second)
		if len(msgs) == 0 {
			t.Fatalf("after Redrive received %d of 3 messages", len(got))
		}
		for _, m := range msgs {
			attrs, ok := want[string(m.Body)]
			if !ok || got[string(m.Body)] {
				t.Fatalf("unexpected or duplicate body %q", m.Body)
			}
			got[string(m.Body)] = true
			checkSame(t, m, string(m.Body), attrs)
			if m.ReceiveCount != 1 {
				t.Errorf("redriven message %q ReceiveCount = %d, want 1 (reset)", m.Body, m.ReceiveCount)
			}
		}
	}
	expectNone(t, q, queue.DLQ(src), 0)
	if moved, err := r.Redrive(ctxFor(t), queue.DLQ(src), src); err != nil || moved != 0 {
		t.Errorf("Redrive of an empty DLQ: moved %d, err %v; want 0, nil", moved, err)
	}
}

func testConcurrency(t *testing.T, nq Factory) {
	const producers, perProducer, consumers = 4, 25, 4
	const total = producers * perProducer
	q := nq(t, []string{src}, 5)
	ctx := ctxFor(t)

	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errc := make(chan error, producers+consumers)
	for p := range producers {
		wg.Go(func() {
			for i := range perProducer {
				body := fmt.Sprintf("p%d-m%d", p, i)
				if _, err := q.Send(ctx, src, queue.Outgoing{Body: []byte(body)}); err != nil {
					errc <- fmt.Errorf("send %s: %w", body, err)
					return
				}
			}
		})
	}
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= total
	}
	deadline := time.Now().Add(30 * time.Second)
	for range consumers {
		wg.Go(func() {
			for !done() && time.Now().Before(deadline) {
				msgs, err := q.Receive(ctx, src, 10, longVis, time.Second)
				if err != nil {
					errc <- fmt.Errorf("receive: %w", err)
					return
				}
				for _, m := range msgs {
					mu.Lock()
					seen[string(m.Body)]++
					mu.Unlock()
					if err := q.Delete(ctx, src, m.ReceiptHandle); err != nil {
						errc <- fmt.Errorf("delete: %w", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	for p := range producers {
		for i := range perProducer {
			body := fmt.Sprintf("p%d-m%d", p, i)
			if n := seen[body]; n != 1 {
				t.Errorf("message %s received %d times, want 1", body, n)
			}
		}
	}
	if len(seen) != total {
		t.Errorf("received %d distinct messages, want %d", len(seen), total)
	}
	expectNone(t, q, src, 0)
}

func batcher(t *testing.T, q queue.Queue) queue.BatchSender {
	t.Helper()
	b, ok := q.(queue.BatchSender)
	if !ok {
		t.Fatalf("%T does not implement queue.BatchSender", q)
	}
	return b
}

// sendBatch sends msgs and fails the test unless every message was
// accepted with a distinct id; it returns the ids in order.
func sendBatch(t *testing.T, q queue.Queue, name string, msgs []queue.Outgoing) []string {
	t.Helper()
	res := batcher(t, q).SendBatch(ctxFor(t), name, msgs)
	if len(res) != len(msgs) {
		t.Fatalf("SendBatch(%d messages) returned %d results", len(msgs), len(res))
	}
	ids := make([]string, len(res))
	seen := map[string]int{}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("SendBatch: message %d: %v", i, r.Err)
		}
		if r.ID == "" {
			t.Fatalf("SendBatch: message %d: empty id", i)
		}
		if j, dup := seen[r.ID]; dup {
			t.Fatalf("SendBatch: messages %d and %d share id %q", j, i, r.ID)
		}
		seen[r.ID] = i
		ids[i] = r.ID
	}
	return ids
}

// receiveAll receives (and deletes) until n messages arrived, failing on a
// duplicate; it returns them by id.
func receiveAll(t *testing.T, q queue.Queue, name string, n int) map[string]queue.Message {
	t.Helper()
	got := map[string]queue.Message{}
	for len(got) < n {
		msgs := receive(t, q, name, 10, longVis, 2*time.Second)
		if len(msgs) == 0 {
			t.Fatalf("received %d of %d messages", len(got), n)
		}
		for _, m := range msgs {
			if _, dup := got[m.ID]; dup {
				t.Fatalf("message %s received twice", m.ID)
			}
			got[m.ID] = m
			if err := q.Delete(ctxFor(t), name, m.ReceiptHandle); err != nil {
				t.Fatalf("Delete: %v", err)
			}
		}
	}
	return got
}

// Each result belongs to the message at its index: its id receives that
// message's body and attributes.
func testSendBatchOrder(t *testing.T, nq Factory) {
	q := nq(t, []string{src, "other"}, 5)
	msgs := []queue.Outgoing{
		{Body: []byte(`{"n":0,"note":"wörld ✓"}`), Attributes: map[string]string{"event_id": "e0", "event_type": "payment.succeeded"}},
		{Body: []byte("plain one")},
		{Body: []byte(`{"n":2}`), Attributes: map[string]string{queue.AttrReason: "why not"}},
	}
	ids := sendBatch(t, q, src, msgs)
	expectNone(t, q, "other", 0)
	got := receiveAll(t, q, src, len(msgs))
	for i, id := range ids {
		m, ok := got[id]
		if !ok {
			t.Fatalf("message %d (id %s) not received; got ids %v", i, id, slicesKeys(got))
		}
		checkSame(t, m, string(msgs[i].Body), msgs[i].Attributes)
	}
	expectNone(t, q, src, 0)
}

// More than SQS's 10 entries a request: every message arrives once.
func testSendBatchMany(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	const n = 23
	msgs := make([]queue.Outgoing, n)
	for i := range msgs {
		msgs[i] = queue.Outgoing{Body: fmt.Appendf(nil, "m%02d", i), Attributes: map[string]string{"i": fmt.Sprint(i)}}
	}
	ids := sendBatch(t, q, src, msgs)
	got := receiveAll(t, q, src, n)
	for i, id := range ids {
		checkSame(t, got[id], string(msgs[i].Body), msgs[i].Attributes)
	}
	expectNone(t, q, src, 0)
}

// More bytes than one SendMessageBatch may carry (256 KiB), including a
// message larger than that on its own.
func testSendBatchLarge(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	sizes := []int{100 << 10, 100 << 10, 100 << 10, 300 << 10, 10}
	msgs := make([]queue.Outgoing, len(sizes))
	for i, n := range sizes {
		msgs[i] = queue.Outgoing{Body: []byte(fmt.Sprint(i) + strings.Repeat("x", n))}
	}
	ids := sendBatch(t, q, src, msgs)
	got := receiveAll(t, q, src, len(msgs))
	for i, id := range ids {
		if string(got[id].Body) != string(msgs[i].Body) {
			t.Errorf("message %d: body of %d bytes, want %d", i, len(got[id].Body), len(msgs[i].Body))
		}
	}
}

// Delay applies per message.
func testSendBatchDelay(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	sent := time.Now()
	ids := sendBatch(t, q, src, []queue.Outgoing{
		{Body: []byte("later"), Delay: 2 * time.Second},
		{Body: []byte("now")},
	})
	m := receiveOne(t, q, src, longVis, 2*time.Second)
	if m.ID != ids[1] {
		t.Fatalf("first visible message %q (id %s), want the undelayed one", m.Body, m.ID)
	}
	later := receiveOne(t, q, src, longVis, 5*time.Second)
	if d := time.Since(sent); d < 1500*time.Millisecond {
		t.Errorf("delayed message visible after %v, delay was 2s", d)
	}
	if later.ID != ids[0] {
		t.Errorf("got id %s, want the delayed %s", later.ID, ids[0])
	}
	checkSame(t, later, "later", nil)
}

func testSendBatchEmpty(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	for _, msgs := range [][]queue.Outgoing{nil, {}} {
		if res := batcher(t, q).SendBatch(ctxFor(t), src, msgs); len(res) != 0 {
			t.Errorf("SendBatch(%d messages) returned %d results", len(msgs), len(res))
		}
	}
	expectNone(t, q, src, 0)
}

func testSendBatchUnknownQueue(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	res := batcher(t, q).SendBatch(ctxFor(t), "no-such-queue", []queue.Outgoing{{Body: []byte("a")}, {Body: []byte("b")}})
	if len(res) != 2 {
		t.Fatalf("%d results, want 2", len(res))
	}
	for i, r := range res {
		if !errors.Is(r.Err, queue.ErrUnknownQueue) {
			t.Errorf("message %d: %v, want ErrUnknownQueue", i, r.Err)
		}
	}
}

// A message SQS would reject fails alone; the others are sent.
func testSendBatchInvalidEntry(t *testing.T, nq Factory) {
	q := nq(t, []string{src}, 5)
	msgs := []queue.Outgoing{
		{Body: []byte("good 0")},
		{Body: []byte("a\x00b")},
		{Body: []byte("good 2"), Attributes: map[string]string{"k": "v"}},
		{Body: []byte("x"), Delay: 16 * time.Minute},
	}
	res := batcher(t, q).SendBatch(ctxFor(t), src, msgs)
	if len(res) != len(msgs) {
		t.Fatalf("%d results, want %d", len(res), len(msgs))
	}
	for _, i := range []int{1, 3} {
		if res[i].Err == nil || !errors.Is(res[i].Err, queue.ErrRejected) {
			t.Errorf("invalid message %d: %v, want ErrRejected", i, res[i].Err)
		}
	}
	for _, i := range []int{0, 2} {
		if res[i].Err != nil || res[i].ID == "" {
			t.Fatalf("valid message %d: id %q, err %v", i, res[i].ID, res[i].Err)
		}
	}
	got := receiveAll(t, q, src, 2)
	checkSame(t, got[res[0].ID], "good 0", nil)
	checkSame(t, got[res[2].ID], "good 2", msgs[2].Attributes)
	expectNone(t, q, src, 0)
}
