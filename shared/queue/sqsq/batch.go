package sqsq

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/queue/internal/limits"
)

var _ queue.BatchSender = (*Queue)(nil)

// SendBatch enqueues msgs with SendMessageBatch: chunks of at most 10
// entries and limits.MaxBatchBytes of payload (ids "0".."9" within a
// chunk), sent concurrently. It returns one result per message, in order:
//   - a message SQS would reject fails alone before any request
//     (queue.ErrRejected);
//   - a message larger than a chunk travels alone with SendMessage;
//   - an entry SQS lists as Failed fails alone, with SQS's code; a
//     SenderFault wraps queue.ErrRejected (sending it again will not help),
//     any other failure is transient;
//   - an error of a whole request (network, throttling after the SDK's
//     retries, unknown queue, an MD5 mismatch the SDK detects) fails every
//     entry of that chunk, even though SQS may have enqueued some: the
//     callers retry and consumers dedupe, as for Send.
//
// Attributes and Delay travel as with Send.
func (q *Queue) SendBatch(ctx context.Context, name string, msgs []queue.Outgoing) []queue.BatchResult {
	res := make([]queue.BatchResult, len(msgs))
	if len(msgs) == 0 {
		return res
	}
	u, err := q.url(name)
	if err != nil {
		for i := range res {
			res[i].Err = err
		}
		return res
	}
	var (
		chunks [][]int // indexes of msgs per SendMessageBatch
		alone  []int   // too large for a batch: SendMessage
		cur    []int
		size   int
	)
	for i, m := range msgs {
		if err := limits.CheckOutgoing(m); err != nil {
			res[i].Err = fmt.Errorf("sqs send batch %q: entry %d: %w: %w", name, i, queue.ErrRejected, err)
			continue
		}
		n := limits.Size(m)
		if n > limits.MaxBatchBytes {
			alone = append(alone, i)
			continue
		}
		if len(cur) == limits.MaxBatch || size+n > limits.MaxBatchBytes {
			chunks = append(chunks, cur)
			cur, size = nil, 0
		}
		cur = append(cur, i)
		size += n
	}
	if len(cur) > 0 {
		chunks = append(chunks, cur)
	}
	var wg sync.WaitGroup
	for _, c := range chunks {
		wg.Go(func() { q.sendChunk(ctx, name, u, msgs, c, res) })
	}
	for _, i := range alone {
		wg.Go(func() { res[i].ID, res[i].Err = q.Send(ctx, name, msgs[i]) })
	}
	wg.Wait()
	return res
}

// sendChunk sends msgs[idx...] in one SendMessageBatch and fills their
// results (each goroutine writes its own indexes only).
func (q *Queue) sendChunk(ctx context.Context, name, u string, msgs []queue.Outgoing, idx []int, res []queue.BatchResult) {
	in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: make([]types.SendMessageBatchRequestEntry, len(idx))}
	for j, i := range idx {
		m := msgs[i]
		in.Entries[j] = types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(j)),
			MessageBody:       aws.String(string(m.Body)),
			DelaySeconds:      seconds(m.Delay),
			MessageAttributes: messageAttributes(m.Attributes),
		}
	}
	out, err := q.client.SendMessageBatch(ctx, in)
	if err != nil {
		err = mapErr("send batch", name, err)
		for _, i := range idx {
			res[i].Err = err
		}
		return
	}
	done := make([]bool, len(idx))
	entry := func(id *string) (int, bool) {
		j, err := strconv.Atoi(aws.ToString(id))
		if err != nil || j < 0 || j >= len(idx) || done[j] {
			return 0, false
		}
		done[j] = true
		return j, true
	}
	for _, s := range out.Successful {
		if j, ok := entry(s.Id); ok {
			res[idx[j]].ID = aws.ToString(s.MessageId)
		}
	}
	for _, f := range out.Failed {
		j, ok := entry(f.Id)
		if !ok {
			continue
		}
		code, msg := aws.ToString(f.Code), aws.ToString(f.Message)
		if f.SenderFault {
			res[idx[j]].Err = fmt.Errorf("sqs send batch %q: entry rejected: %s: %s: %w", name, code, msg, queue.ErrRejected)
		} else {
			res[idx[j]].Err = fmt.Errorf("sqs send batch %q: entry failed: %s: %s", name, code, msg)
		}
	}
	for j, ok := range done {
		if !ok {
			res[idx[j]].Err = fmt.Errorf("sqs send batch %q: entry %d: %w", name, j, queue.ErrNoResult)
		}
	}
}
