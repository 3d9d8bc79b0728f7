package cost

import (
	"math"
	"strings"
	"testing"
)

func TestBatchRequests(t *testing.T) {
	tests := []struct {
		name                string
		entries, rounds, kb float64
		want                float64
	}{
		{"nothing to send", 0, 2, 1.5, 0},
		{"two rounds of a full batch", 17, 2, 1.5, 2},
		{"more than 10 entries in a round", 25, 1, 1.5, 3},
		{"30 entries in 2 rounds", 30, 2, 1, 4},
		{"64 KB chunks", 10, 1, 20, 4},
		{"fewer entries than rounds: about one request each", 1.7, 2, 1.5, 1.7},
		{"under one entry per invocation", 0.59, 1, 2, 0.59},
		{"rounds below 1 count as 1", 5, 0, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := batchRequests(tc.entries, tc.rounds, tc.kb); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("batchRequests(%v, %v, %v) = %v, want %v", tc.entries, tc.rounds, tc.kb, got, tc.want)
			}
		})
	}
}

// With BatchedSends, ingest still sends per webhook; the processor and
// fan-out hops cost a request per invocation round.
func TestComputeBatchedSends(t *testing.T) {
	in := Inputs{
		Prices: ListPrices,
		Mix: []Class{{Name: "one", Share: 1, ProcessorMS: 100, ConsistentReads: 1, Notifications: 1, SendRounds: 1,
			Writes: []Write{{What: "w", KB: 1}}}},
		MemoryMB: 1024, Batch: 10, EndpointsPerEvent: 1, BatchedSends: true,
		EnvelopeKB: 100, NotificationKB: 1, DeliveryKB: 1,
		ReferenceWebhooksMonth: 1e6,
	}
	tests := []struct {
		name        string
		batch       float64
		ingest, bat float64 // requests
	}{
		// 1M webhooks, 100 KB envelopes: 2 chunks each; 100k processor
		// and 100k fan-out invocations, one request each.
		{"full batches", 10, 2e6, 2e5},
		// quiet queues: an invocation per message, a request each.
		{"one message per batch", 1, 2e6, 2e6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := in
			in.Batch = tc.batch
			r, err := Compute(in)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]float64{}
			for _, l := range r.Variable {
				if l.Service == "SQS" {
					got[strings.SplitN(l.Item, " ", 2)[0]] = l.Quantity
				}
			}
			if got["SendMessage"] != tc.ingest || got["SendMessageBatch"] != tc.bat {
				t.Errorf("SQS lines %v, want SendMessage %v, SendMessageBatch %v", got, tc.ingest, tc.bat)
			}
		})
	}
}
