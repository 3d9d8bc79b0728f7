// Package notify is the outbound side of Hookstack: endpoints and their event
// filters, fan-out of domain events to deliveries, the delivery attempt
// itself (Standard Webhooks signed HTTP, Slack incoming webhooks, Mailchimp
// member upserts), the retry schedule, the SSRF guard on every outbound
// connection, and the thin queue handlers of the fanout and deliverer
// functions.
//
// The package does no AWS I/O of its own: queues, the endpoint store and the
// delivery log are small consumer-side interfaces (EndpointSource,
// EndpointLookup, EndpointDisabler, DeliveryLog, and the queue methods the
// handlers call), satisfied by shared/queue and the store adapters.
//
// # Outcomes
//
// A delivery attempt ends in one of four outcomes (Outcome):
//
//   - Delivered: a 2xx answer (or, for Mailchimp, an event type that the
//     integration does not handle: a delivered no-op, see Deliverer).
//   - Retry: 429, 408, 5xx, a timeout or a connection error. The next delay is
//     Schedule.Next: the step for the attempt number with ±20% jitter, or the
//     Retry-After answer when longer, capped at MaxDelay (12 h). The caller
//     realises it with SQS visibility (no sleeping).
//   - Disable: 410 Gone. The endpoint is disabled and its pending deliveries
//     are dropped as they arrive (recorded, not dead-lettered).
//   - Permanent: a 3xx (redirects are never followed), any other 4xx, a
//     blocked address (SSRF guard, reason "blocked address"), or a retryable
//     failure after the last step of the schedule (reason "retries exhausted").
//     The delivery goes to the deliveries DLQ with the reason.
//
// # Endpoint views
//
// The fan-out and the deliverer each cache the endpoint list (EndpointCache),
// read in AWS from an eventually consistent index, so the deliverer's view
// may be older than the fan-out's. A delivery is dropped (endpoint removed,
// disabled or no longer subscribed) only after a consistent read of its
// endpoint (EndpointConfirmer) agrees; otherwise it is sent with what that
// read found.
//
// # Large raw forwards
//
// A raw forward whose notification would exceed the SQS message limit is sent
// without data and with the data_ref attribute (AttrDataRef): the
// claim-check reference of the inbound body. The fan-out copies it into each
// delivery (Delivery.DataRef); the deliverer reads the body (BlobGetter) and
// builds the data with RawData, byte for byte what a forward that fitted
// carries. A body that is gone is a permanent failure (ReasonDataMissing).
//
// # Attempt numbers
//
// The attempt number of a delivery is the SQS receive count of its message
// (queue.Message.ReceiveCount, 1 on the first receive). A retry changes the
// message's visibility to the next delay and leaves it on the queue, so the
// next receive is the next attempt. Carrying the count in the body would
// require re-sending the message for each retry, and SQS delays a sent message
// by at most 15 minutes, so longer steps would need a receive + change of
// visibility anyway. Consequences: a receive that ends without an attempt
// (a crash, a store outage) still consumes a step, and so does an attempt cut
// by the batch's deadline margin (ErrAttemptCut, shared/batchdeadline),
// which is otherwise not recorded as an attempt; the deliveries queue's
// maxReceiveCount must exceed len(schedule)+1 (it is only a safety net for
// messages that crash the handler, the deliverer decides when a delivery is
// dead); and a delivery redriven from the DLQ is a new message whose receive
// count starts at 1, so it starts a fresh schedule.
package notify
