package process

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/store/dynamostore/dynamotest"
)

// sinkQueue accepts every send (the benchmarks measure the store path).
type sinkQueue struct{ sent atomic.Int64 }

func (q *sinkQueue) Send(context.Context, string, queue.Outgoing) (string, error) {
	return fmt.Sprint(q.sent.Add(1)), nil
}
func (q *sinkQueue) Receive(context.Context, string, int, time.Duration, time.Duration) ([]queue.Message, error) {
	return nil, nil
}
func (q *sinkQueue) Delete(context.Context, string, string) error { return nil }
func (q *sinkQueue) ChangeVisibility(context.Context, string, string, time.Duration) error {
	return nil
}

// benchCase makes the i-th distinct message of a processor: a sample with
// its record key and event id replaced, so that every message writes a new
// record and emits its domain events.
type benchCase struct {
	processor, sample string
	replace           func(i int) []string // old, new pairs for strings.NewReplacer
}

var benchCases = map[string]benchCase{
	Payments: {Payments, "stripe/payment_intent.succeeded", func(i int) []string {
		return []string{"evt_3RZx5a2eZvKYlo2C0sU3cC03", fmt.Sprintf("evt_bench%08d", i), "pi_3RZx5a2eZvKYlo2C0m8kQpLd", fmt.Sprintf("pi_bench%08d", i)}
	}},
	Inventory: {Inventory, "shopify/inventory_levels_update", func(i int) []string {
		return []string{"49148385591586", fmt.Sprint(90000000000000 + i)}
	}},
	Leads: {Leads, "standard/lead.created", func(i int) []string {
		return []string{"Ada.Lovelace@Example.com", fmt.Sprintf("bench%08d@example.com", i)}
	}},
	Relay: {Relay, "livechat/incoming_chat", func(i int) []string {
		return []string{"PJ0MRSHTDG", fmt.Sprintf("BENCH%08d", i)}
	}},
}

func benchBatch10Dynamo(b *testing.B, name string) {
	c := benchCases[name]
	st := dynamotest.Store(b)
	all := samples(b)
	base := one(b, all, c.sample)
	h, err := New(name, Deps{Queue: &sinkQueue{}, Store: st, Logger: discardLogger()}, Config{})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	batch := func() events.SQSEvent {
		var ev events.SQSEvent
		for range 10 {
			n++
			e := base
			e.ID, e.EventID = fmt.Sprintf("env-bench-%d", n), fmt.Sprintf("bench-%d", n)
			e.Body = []byte(strings.NewReplacer(c.replace(n)...).Replace(string(base.Body)))
			ev.Records = append(ev.Records, msg(b, e))
		}
		return ev
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		ev := batch()
		b.StartTimer()
		resp, err := h.Handle(ctx, ev)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			b.Fatalf("failures %v, %v", resp.BatchItemFailures, err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkPaymentsBatch10Dynamo(b *testing.B)  { benchBatch10Dynamo(b, Payments) }
func BenchmarkInventoryBatch10Dynamo(b *testing.B) { benchBatch10Dynamo(b, Inventory) }
func BenchmarkLeadsBatch10Dynamo(b *testing.B)     { benchBatch10Dynamo(b, Leads) }
func BenchmarkRelayBatch10Dynamo(b *testing.B)     { benchBatch10Dynamo(b, Relay) }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
