package process

import (
	"context"
	"sync"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
)

// GroupCommitWait caps how long a send waits for the other messages of its
// batch before its group is sent anyway, so a slow message (a store retry,
// a claim-check fetch) cannot hold the others back for long.
const GroupCommitWait = 20 * time.Millisecond

// groupCommit gathers the sends of the messages of one batch that run at
// once (Handle) into SendBatch calls: a send waits until every running
// message of the batch is waiting in a send or finished — then there is
// nothing more to wait for — or until GroupCommitWait has passed since the
// first send of the group, and then one flush sends the whole group (one
// SendBatch per queue; the adapter chunks by 10 entries and 256 KiB) and
// hands each sender its own messages' results. A message is never told a
// send succeeded unless the queue accepted that message.
//
// While a flush is on the wire, a new group keeps gathering until the
// flushed messages have moved on (they often come back with their next
// send) or the cap passes: fewer, fuller requests.
type groupCommit struct {
	q   queue.Queue     // a queue.BatchSender
	ctx context.Context // the batch's: a flush outlives no batch
	cap time.Duration

	mu       sync.Mutex
	running  int // messages of the batch started and not finished
	blocked  int // of those, waiting in send (pending or in flight)
	inflight int // flushes on the wire
	pending  []*groupSend
	timer    *time.Timer
	// flushes counts SendBatch calls (tests).
	flushes int
}

// groupSend is one send call: its messages and, once flushed, their results.
type groupSend struct {
	queue string
	msgs  []queue.Outgoing
	res   []queue.BatchResult
	done  chan struct{}
}

type groupCommitKey struct{}

// newGroupCommit returns the group commit of a batch handled under ctx, or
// nil when q cannot send batches (the Writer then sends one by one).
func newGroupCommit(ctx context.Context, q queue.Queue) *groupCommit {
	if _, ok := q.(queue.BatchSender); !ok {
		return nil
	}
	return &groupCommit{q: q, ctx: ctx, cap: GroupCommitWait}
}

// withGroupCommit returns ctx carrying g: the Writer's sends of the message
// handled under it go through g.
func withGroupCommit(ctx context.Context, g *groupCommit) context.Context {
	return context.WithValue(ctx, groupCommitKey{}, g)
}

func groupCommitFrom(ctx context.Context) *groupCommit {
	g, _ := ctx.Value(groupCommitKey{}).(*groupCommit)
	return g
}

// join counts a message of the batch as running; call it before the
// message's goroutine starts, and leave when it ends.
func (g *groupCommit) join() {
	g.mu.Lock()
	g.running++
	g.mu.Unlock()
}

// leave counts a message as finished; the others may now be all waiting.
func (g *groupCommit) leave() {
	g.mu.Lock()
	g.running--
	g.maybeFlushLocked()
}

// send submits msgs to name and waits for their results (one per message,
// in order). It must be called by a message that joined.
func (g *groupCommit) send(name string, msgs []queue.Outgoing) []queue.BatchResult {
	if len(msgs) == 0 {
		return nil
	}
	s := &groupSend{queue: name, msgs: msgs, done: make(chan struct{})}
	g.mu.Lock()
	g.pending = append(g.pending, s)
	g.blocked++
	if len(g.pending) == 1 {
		g.timer = time.AfterFunc(g.cap, g.expire)
	}
	g.maybeFlushLocked()
	<-s.done
	return s.res
}

// expire flushes the pending group when the cap has passed.
func (g *groupCommit) expire() {
	g.mu.Lock()
	if len(g.pending) == 0 {
		g.mu.Unlock()
		return
	}
	g.flushLocked()
}

// maybeFlushLocked flushes when nothing more can join the pending group:
// every running message is blocked in a send and no flush is on the wire
// (whose messages may come back with more). It unlocks g.mu.
func (g *groupCommit) maybeFlushLocked() {
	if len(g.pending) > 0 && g.blocked >= g.running && g.inflight == 0 {
		g.flushLocked()
		return
	}
	g.mu.Unlock()
}

// flushLocked takes the pending group, unlocks g.mu and sends it.
func (g *groupCommit) flushLocked() {
	group := g.pending
	g.pending = nil
	if g.timer != nil {
		g.timer.Stop()
		g.timer = nil
	}
	g.inflight++
	g.mu.Unlock()

	// One SendBatch per queue, the group's messages in the order they were
	// submitted.
	var order []string
	byQueue := map[string][]*groupSend{}
	for _, s := range group {
		if _, ok := byQueue[s.queue]; !ok {
			order = append(order, s.queue)
		}
		byQueue[s.queue] = append(byQueue[s.queue], s)
	}
	for _, name := range order {
		sends := byQueue[name]
		var msgs []queue.Outgoing
		for _, s := range sends {
			msgs = append(msgs, s.msgs...)
		}
		res := queue.SendAll(g.ctx, g.q, name, msgs)
		for _, s := range sends {
			s.res, res = res[:len(s.msgs):len(s.msgs)], res[len(s.msgs):]
		}
	}

	g.mu.Lock()
	g.flushes += len(order)
	g.inflight--
	g.blocked -= len(group)
	for _, s := range group {
		close(s.done)
	}
	g.maybeFlushLocked()
}
