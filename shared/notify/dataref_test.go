package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/blob/fileblob"
	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/localq"
	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/sqstext"
	"github.com/hookstack/hookstack/shared/store/localstore"
)

// receiver is an http endpoint's server that keeps what it received.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
}

func newReceiver(t *testing.T) (*receiver, Endpoint) {
	r := &receiver{}
	srv := server(t, func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.mu.Unlock()
	})
	return r, httpEndpoint(srv.URL, NewSecret())
}

// data returns the raw bytes of the "data" member of the last payload.
func (r *receiver) data(t *testing.T) []byte {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bodies) == 0 {
		t.Fatal("nothing received")
	}
	var p struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(r.bodies[len(r.bodies)-1], &p); err != nil {
		t.Fatalf("payload %q: %v", r.bodies[len(r.bodies)-1], err)
	}
	return p.Data
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bodies)
}

// throughOutbound runs one notifications message through the fan-out and the
// deliverer (fakes, blobs as the claim-check store) to ep and returns the
// delivery message and the deliverer's result.
func throughOutbound(t *testing.T, n queue.Message, ep Endpoint, blobs BlobGetter) (queue.Outgoing, *fakeQueue, *fakeLog, error) {
	t.Helper()
	ctx := context.Background()
	store := newFakeStore(ep)
	fq := newFakeQueue()
	fan := &FanOutHandler{Endpoints: store, Queue: fq, Now: func() time.Time { return fixedNow }}
	if err := fan.Handle(ctx, n); err != nil {
		t.Fatal(err)
	}
	sent := fq.sent["deliveries"]
	if len(sent) != 1 {
		t.Fatalf("fan-out sent %+v", fq.sent)
	}
	dq, log := newFakeQueue(), &fakeLog{}
	h := &DeliverHandler{Deliverer: testDeliverer(t), Endpoints: CachedEndpoints(store, 0), Disabler: store, Log: log, Queue: dq, Blobs: blobs,
		Now: func() time.Time { return fixedNow }}
	err := h.Handle(ctx, queue.Message{ID: "d1", ReceiptHandle: "r1", Body: sent[0].Body, ReceiveCount: 1})
	return sent[0], dq, log, err
}

// A raw forward too large for its notification comes without data and with
// the data_ref attribute naming the inbound body: the fan-out carries the
// reference into the delivery and the deliverer builds the data from the
// body, so the receiver gets exactly the data a forward that fitted would
// have carried.
func TestLargeRawForwardCarriesItsData(t *testing.T) {
	blobs, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, provider, typ string
		body                string
		want, not           []string // in / not in the data received
	}{
		{name: "json with html, line separators and noncharacters", provider: "github", typ: "push",
			body: "{\n  \"ref\": \"refs/heads/main\",\n  \"msg\": \"<b>fix</b> & more\",\n  \"ls\": \"a\u2028b\",\n  \"esc\": \"x\\uffffy\",\n  \"lit\": \"p\uFFFEq\"\n}\n",
			want: []string{`"ref":"refs/heads/main"`, `\ufffe`, `\uffff`}, not: []string{"\uFFFE", "\uFFFF"}},
		{name: "stripe json", provider: "stripe", typ: "charge.refunded",
			body: `{"id":"evt_1","type":"charge.refunded","data":{"object":{"id":"ch_1","amount":100}}}`,
			want: []string{`"id":"ch_1"`}},
		{name: "form body becomes a json string", provider: "slack", typ: "form",
			body: "payload=%7B%22a%22%3A1%7D&x=<1>", want: []string{`"payload=%7B%22a%22%3A1%7D`}},
		{name: "livechat secret removed", provider: "livechat", typ: "incoming_chat",
			body: `{"action":"incoming_chat","secret_key":"s3cr3t-value","payload":{"chat":{"id":"C1"}}}`,
			want: []string{`"id":"C1"`}, not: []string{"s3cr3t", "secret_key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The forward as the processors build it (relay.Forward is
			// domain.Raw plus LiveChat's redaction) and send it: whole when
			// it fits, json.Marshal'd with U+FFFE/U+FFFF escaped.
			full := relay.Forward(relay.Event{Provider: tt.provider, ID: "evt_big", Type: tt.typ, OccurredAt: fixedNow, Body: []byte(tt.body)})
			if full.Type != domain.RawType(tt.provider, tt.typ) || len(full.Data) == 0 {
				t.Fatalf("forward %+v", full)
			}
			small := queue.Message{ID: "n-small", Body: sqstext.EscapeJSON(mustJSON(t, full)), ReceiveCount: 1}
			ref, err := blobs.Put(context.Background(), "bodies/"+tt.provider+"/01JTEST"+tt.provider, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			stripped := full
			stripped.Data = nil
			large := queue.Message{ID: "n-large", Body: mustJSON(t, stripped), Attributes: map[string]string{AttrDataRef: ref}, ReceiveCount: 1}

			rcv, ep := newReceiver(t)
			if _, _, _, err := throughOutbound(t, small, ep, blobs); err != nil {
				t.Fatal(err)
			}
			want := rcv.data(t)
			d, _, log, err := throughOutbound(t, large, ep, blobs)
			if err != nil {
				t.Fatal(err)
			}
			var got Delivery
			if err := json.Unmarshal(d.Body, &got); err != nil || got.DataRef != ref || len(got.Event.Data) != 0 {
				t.Fatalf("delivery %s: want data_ref %q and no data (%v)", d.Body, ref, err)
			}
			if a := log.last(t); a.Outcome != LogDelivered || rcv.count() != 2 {
				t.Fatalf("record %+v, received %d", a, rcv.count())
			}
			data := rcv.data(t)
			if !bytes.Equal(data, want) {
				t.Fatalf("large forward's data\n%s\nwant the small one's\n%s", data, want)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("data %s lacks %s", data, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(string(data), n) {
					t.Errorf("data %s has %q", data, n)
				}
			}
		})
	}
}

// failingBlobs is a claim-check store that cannot be reached.
type failingBlobs struct{ err error }

func (f failingBlobs) Get(context.Context, string) ([]byte, error) { return nil, f.err }

// A large forward whose body cannot be had: gone (or a reference no store
// reads) or no store configured is dead-lettered with the reason, never
// sent without its data; a store that is down keeps the message.
func TestLargeRawForwardWithoutItsBody(t *testing.T) {
	blobs, err := fileblob.New(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ev := domain.Raw("github", "evt_gone", "push", fixedNow, nil)
	tests := []struct {
		name       string
		ref        string
		blobs      BlobGetter
		wantReason string // "" = kept on the queue (an error of ours)
	}{
		{"body gone", "file:bodies/github/missing", blobs, ReasonDataMissing},
		{"reference of another store", "s3://bucket/bodies/github/x", blobs, ReasonDataMissing},
		{"no claim-check store", "file:bodies/github/x", nil, ReasonNoClaimStore},
		{"store down", "file:bodies/github/x", failingBlobs{errors.New("connection reset")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rcv, ep := newReceiver(t)
			n := queue.Message{ID: "n1", Body: mustJSON(t, ev), Attributes: map[string]string{AttrDataRef: tt.ref}, ReceiveCount: 1}
			_, dq, log, err := throughOutbound(t, n, ep, tt.blobs)
			if rcv.count() != 0 {
				t.Fatal("sent without its data")
			}
			dlq := dq.sent["deliveries-dlq"]
			if tt.wantReason == "" {
				if err == nil || errors.Is(err, ErrRetryScheduled) || len(dlq) != 0 || len(log.attempts) != 0 {
					t.Fatalf("err %v, dlq %+v, log %+v: want the message kept", err, dlq, log.attempts)
				}
				return
			}
			if err != nil || len(dlq) != 1 {
				t.Fatalf("err %v, dlq %+v", err, dq.sent)
			}
			if r := dlq[0].Attributes[queue.AttrReason]; !strings.HasPrefix(r, tt.wantReason) || dlq[0].Attributes[AttrEndpointID] != ep.ID {
				t.Errorf("dlq attributes %v, want reason %q", dlq[0].Attributes, tt.wantReason)
			}
			if a := log.last(t); a.Outcome != LogFailed || !strings.HasPrefix(a.Reason, tt.wantReason) {
				t.Errorf("record %+v", a)
			}
		})
	}
}

// A notification holding U+FFFE/U+FFFF (escaped, as the processors send
// them) stays sendable to SQS through the fan-out and the deliverer: the
// re-encoded delivery escapes them again (the local queue refuses what SQS
// refuses), and the receiver gets the same characters.
func TestNoncharactersStaySQSSafe(t *testing.T) {
	q, err := localq.Open(filepath.Join(t.TempDir(), "queue.db"), localq.Config{Queues: envelope.AllQueues})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	ctx := context.Background()
	rcv, ep := newReceiver(t)
	store := newFakeStore(ep)
	body := `{"id":"evt_1:lead.created","type":"lead.created","subject":"lead:a\uffffb@example.com","source":"hubspot",` +
		`"source_event_id":"evt_1","occurred_at":"2026-11-29T17:59:00Z","data":{"email":"a\uffffb@example.com","name":"x\ufffey"}}`
	if _, err := q.Send(ctx, envelope.QueueNotifications, queue.Outgoing{Body: []byte(body)}); err != nil {
		t.Fatalf("the notification itself: %v", err)
	}
	ns, err := q.Receive(ctx, envelope.QueueNotifications, 10, time.Minute, 0)
	if err != nil || len(ns) != 1 {
		t.Fatal(ns, err)
	}
	fan := &FanOutHandler{Endpoints: store, Queue: q}
	if failed := fan.HandleBatch(ctx, ns); len(failed) != 0 {
		t.Fatalf("fan-out failed %v (the delivery is not SQS-safe?)", failed)
	}
	ds, err := q.Receive(ctx, envelope.QueueDeliveries, 10, time.Minute, 0)
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	if strings.ContainsAny(string(ds[0].Body), "\uFFFE\uFFFF") || !strings.Contains(string(ds[0].Body), `a\uffffb`) {
		t.Errorf("delivery body %s", ds[0].Body)
	}
	h := &DeliverHandler{Deliverer: testDeliverer(t), Endpoints: CachedEndpoints(store, 0), Disabler: store, Log: &fakeLog{}, Queue: q}
	if failed := h.HandleBatch(ctx, ds); len(failed) != 0 {
		t.Fatalf("deliverer failed %v", failed)
	}
	var got struct {
		Data struct{ Email, Name string } `json:"data"`
	}
	if err := json.Unmarshal(rcv.bodies[0], &got); err != nil || got.Data.Email != "a\uFFFFb@example.com" || got.Data.Name != "x\uFFFEy" {
		t.Errorf("received %s (%v)", rcv.bodies[0], err)
	}

	// A dead-letter reason quoting such characters is cleaned for SQS.
	bad := queue.Message{ID: "bad", Body: []byte(`{"id":"x"}`)}
	err = deadLetter(ctx, q, envelope.QueueDeliveries, bad, map[string]string{queue.AttrReason: "bad \uFFFF\x00 reason", AttrEventType: "t\uFFFE"})
	if err != nil {
		t.Fatalf("dead-letter with noncharacters in the reason: %v", err)
	}
}

func TestSQSText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain reason", "plain reason"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
		{"emoji 🎉 and \uFFFD", "emoji 🎉 and \uFFFD"},
		{"non\uFFFEchar\uFFFF", "non\uFFFDchar\uFFFD"},
		{"nul\x00 bell\x07", "nul\uFFFD bell\uFFFD"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := sqstext.Text(tt.in); got != tt.want {
				t.Errorf("sqstext.Text(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// End to end through the real relay processor: a GitHub push whose body is
// larger than a notification may be goes to the notifications queue without
// its data, with data_ref; the subscriber still receives the whole body as
// data.
func TestLargeForwardFromTheProcessor(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	q, err := localq.Open(filepath.Join(dir, "queue.db"), localq.Config{Queues: envelope.AllQueues})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	st, err := localstore.Open(filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	blobs, err := fileblob.New(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	// A body over 1 MiB: a commit list with long messages.
	var b strings.Builder
	b.WriteString(`{"ref":"refs/heads/main","commits":[`)
	for i := range 1200 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"id":"c` + strings.Repeat("0", 39) + `","message":"` + strings.Repeat("fix <things> & ", 64) + `"}`)
	}
	b.WriteString(`]}`)
	body := []byte(b.String())
	if len(body) < 1<<20 {
		t.Fatalf("body only %d bytes", len(body))
	}
	env := envelope.Envelope{V: envelope.Version, ID: "01JBIGPUSH000000000000000", Provider: "github", EventID: "d-big", Type: "push",
		OccurredAt: fixedNow, ReceivedAt: fixedNow, ContentType: "application/json", Queue: process.Relay}
	if env.BodyRef, err = blobs.Put(ctx, "bodies/github/"+env.ID, body); err != nil {
		t.Fatal(err)
	}
	raw, err := envelope.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	p, err := process.New(process.Relay, process.Deps{Queue: q, Store: st, Blobs: blobs}, process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", ReceiptHandle: "r1", Body: string(raw),
		Attributes: map[string]string{"ApproximateReceiveCount": "1"}}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("relay: %+v, %v", resp, err)
	}
	ns, err := q.Receive(ctx, envelope.QueueNotifications, 10, time.Minute, 0)
	if err != nil || len(ns) != 1 || ns[0].Attributes[AttrDataRef] != env.BodyRef {
		t.Fatalf("notifications %+v, %v: want one with data_ref %s", ns, err, env.BodyRef)
	}

	rcv, ep := newReceiver(t)
	store := newFakeStore(ep)
	if failed := (&FanOutHandler{Endpoints: store, Queue: q}).HandleBatch(ctx, ns); len(failed) != 0 {
		t.Fatalf("fan-out failed %v", failed)
	}
	ds, err := q.Receive(ctx, envelope.QueueDeliveries, 10, time.Minute, 0)
	if err != nil || len(ds) != 1 {
		t.Fatal(ds, err)
	}
	h := &DeliverHandler{Deliverer: testDeliverer(t), Endpoints: CachedEndpoints(store, 0), Disabler: store, Log: &fakeLog{}, Queue: q, Blobs: blobs}
	if failed := h.HandleBatch(ctx, ds); len(failed) != 0 {
		t.Fatalf("deliverer failed %v", failed)
	}
	want, err := json.Marshal(json.RawMessage(body))
	if err != nil {
		t.Fatal(err)
	}
	if got := rcv.data(t); !bytes.Equal(got, want) {
		t.Fatalf("received data of %d bytes, want the body's %d", len(got), len(want))
	}
	if AttrDataRef != process.AttrDataRef {
		t.Fatalf("attribute %q, processors send %q", AttrDataRef, process.AttrDataRef)
	}
}
