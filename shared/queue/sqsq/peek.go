package sqsq

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookstack/hookstack/shared/queue"
)

// DefaultPeekHide is how long Peek hides the messages it reads while it
// collects them, when the caller passes no duration.
const DefaultPeekHide = 30 * time.Second

// peekWait is each receive's long poll while peeking.
const peekWait = time.Second

// Peek reads up to limit messages of name without consuming them, newest
// first (SQS has no peek): it asks SQS how many messages are visible, then
// receives them hidden for hide (so a second receive returns others), and
// makes every one visible again before it returns — also when it fails
// half-way; a process killed meanwhile leaves them hidden for hide at most.
// Each peeked message's receive count goes up by one, so peek only queues
// without a redrive policy of their own (DLQs). It stops at limit, when the
// visible count is reached or when a 1 s receive brings nothing new.
//
// SQS's count is approximate: a message that arrived within the last moments
// may be missed (an empty queue costs one GetQueueAttributes call and no
// receive). hide <= 0 means DefaultPeekHide.
func (q *Queue) Peek(ctx context.Context, name string, limit int, hide time.Duration) (msgs []queue.Message, err error) {
	u, err := q.url(name)
	if err != nil {
		return nil, err
	}
	if limit <= 0 {
		return nil, nil
	}
	if hide <= 0 {
		hide = DefaultPeekHide
	}
	attrs, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(u),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return nil, mapErr("peek count", name, err)
	}
	visible, convErr := strconv.Atoi(attrs.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)])
	if convErr == nil && visible == 0 {
		return nil, nil
	}
	if convErr != nil {
		visible = limit // the endpoint gave no count: receive until nothing new
	}

	at := map[string]int{} // message id → index in msgs
	defer func() {
		// Visible again, also when the listing failed half-way; a stale
		// receipt means the message is already visible or gone.
		ctx := context.WithoutCancel(ctx)
		for _, m := range msgs {
			if e := q.ChangeVisibility(ctx, name, m.ReceiptHandle, 0); e != nil && !errors.Is(e, queue.ErrReceiptInvalid) && err == nil {
				err = fmt.Errorf("make %s's message %s visible again (it shows up within %s anyway): %w", name, m.ID, hide, e)
			}
		}
	}()
	for len(msgs) < limit && len(msgs) < visible {
		batch, err := q.Receive(ctx, name, min(10, limit-len(msgs)), hide, peekWait)
		if err != nil {
			return msgs, fmt.Errorf("peek %s: %w", name, err)
		}
		fresh := 0
		for _, m := range batch {
			if i, ok := at[m.ID]; ok {
				msgs[i].ReceiptHandle = m.ReceiptHandle // the newest receipt is the valid one
				continue
			}
			at[m.ID] = len(msgs)
			msgs = append(msgs, m)
			fresh++
		}
		if fresh == 0 {
			break
		}
	}
	slices.SortStableFunc(msgs, func(a, b queue.Message) int { return b.SentAt.Compare(a.SentAt) })
	return msgs, nil
}
