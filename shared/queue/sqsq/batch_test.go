package sqsq

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/queue"
)

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// batchFake answers SendMessageBatch: entries whose body starts with
// "fail:<code>" or "sender:<code>" are listed as Failed; "drop" entries get no
// result at all; a body "whole:500" fails the whole request; "badmd5" gets a
// wrong MD5 back. It records each request's entries.
type batchFake struct {
	mu       sync.Mutex
	requests [][]map[string]any
}

func (b *batchFake) handle(body map[string]any) (int, any) {
	entries, _ := body["Entries"].([]any)
	var es []map[string]any
	for _, e := range entries {
		es = append(es, e.(map[string]any))
	}
	b.mu.Lock()
	b.requests = append(b.requests, es)
	b.mu.Unlock()
	var ok, failed []map[string]any
	for _, e := range es {
		id, msg := e["Id"].(string), e["MessageBody"].(string)
		switch {
		case msg == "whole:500":
			return 500, map[string]string{"__type": "com.amazonaws.sqs#InternalError", "message": "boom"}
		case strings.HasPrefix(msg, "fail:"):
			failed = append(failed, map[string]any{"Id": id, "Code": strings.TrimPrefix(msg, "fail:"), "Message": "try later", "SenderFault": false})
		case strings.HasPrefix(msg, "sender:"):
			failed = append(failed, map[string]any{"Id": id, "Code": strings.TrimPrefix(msg, "sender:"), "Message": "no", "SenderFault": true})
		case msg == "drop":
		case msg == "badmd5":
			ok = append(ok, map[string]any{"Id": id, "MessageId": "id-" + msg, "MD5OfMessageBody": md5hex("other")})
		default:
			ok = append(ok, map[string]any{"Id": id, "MessageId": "id-" + msg, "MD5OfMessageBody": md5hex(msg)})
		}
	}
	return 200, map[string]any{"Successful": ok, "Failed": failed}
}

func bodies(ss ...string) []queue.Outgoing {
	out := make([]queue.Outgoing, len(ss))
	for i, s := range ss {
		out[i] = queue.Outgoing{Body: []byte(s)}
	}
	return out
}

func TestSendBatchResults(t *testing.T) {
	big := strings.Repeat("b", 300<<10)
	tests := []struct {
		name     string
		msgs     []queue.Outgoing
		requests []int // entries per SendMessageBatch request, in any order
		sends    int   // SendMessage calls
		// want per message: "id:<id>", "rejected", "transient:<code>",
		// "whole", "noresult"
		want []string
	}{
		{
			name:     "all accepted, ids in order",
			msgs:     bodies("a", "b", "c"),
			requests: []int{3},
			want:     []string{"id:id-a", "id:id-b", "id:id-c"},
		},
		{
			name:     "failed entries fail alone",
			msgs:     bodies("a", "fail:ServiceUnavailable", "sender:InvalidMessageContents", "d"),
			requests: []int{4},
			want:     []string{"id:id-a", "transient:ServiceUnavailable", "rejected", "id:id-d"},
		},
		{
			name:     "an entry without a result is not sent",
			msgs:     bodies("a", "drop"),
			requests: []int{2},
			want:     []string{"id:id-a", "noresult"},
		},
		{
			name:     "a whole-request error fails its chunk only",
			msgs:     bodies("0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "whole:500", "11"),
			requests: []int{10, 2},
			want: []string{"id:id-0", "id:id-1", "id:id-2", "id:id-3", "id:id-4", "id:id-5", "id:id-6", "id:id-7",
				"id:id-8", "id:id-9", "whole", "whole"},
		},
		{
			name:     "an MD5 mismatch fails the chunk",
			msgs:     bodies("a", "badmd5"),
			requests: []int{2},
			want:     []string{"whole", "whole"},
		},
		{
			name:     "invalid messages fail before any request",
			msgs:     []queue.Outgoing{{Body: []byte("a")}, {}, {Body: []byte("c"), Attributes: map[string]string{"bad name": "v"}}},
			requests: []int{1},
			want:     []string{"id:id-a", "rejected", "rejected"},
		},
		{
			name:     "chunks of at most 256 KiB; a larger message goes alone",
			msgs:     bodies(strings.Repeat("x", 200<<10), strings.Repeat("y", 100<<10), big, "z"),
			requests: []int{1, 2},
			sends:    1,
			want:     []string{"id:id-" + strings.Repeat("x", 200<<10), "id:id-" + strings.Repeat("y", 100<<10), "id:sent", "id:id-z"},
		},
		{
			name:     "nothing sent for no messages",
			msgs:     nil,
			requests: nil,
			want:     nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := &batchFake{}
			q, f := newFake(t, map[string]func(map[string]any) (int, any){
				"SendMessageBatch": fake.handle,
				"SendMessage": func(b map[string]any) (int, any) {
					return 200, map[string]string{"MessageId": "sent", "MD5OfMessageBody": md5hex(b["MessageBody"].(string))}
				},
			})
			res := q.SendBatch(t.Context(), "work", tc.msgs)
			if len(res) != len(tc.msgs) {
				t.Fatalf("%d results for %d messages", len(res), len(tc.msgs))
			}
			for i, want := range tc.want {
				r := res[i]
				kind, arg, _ := strings.Cut(want, ":")
				switch kind {
				case "id":
					if r.Err != nil || r.ID != arg {
						t.Errorf("message %d: id %.20q err %v, want id %.20q", i, r.ID, r.Err, arg)
					}
				case "rejected":
					if !errors.Is(r.Err, queue.ErrRejected) {
						t.Errorf("message %d: %v, want ErrRejected", i, r.Err)
					}
				case "transient":
					if r.Err == nil || errors.Is(r.Err, queue.ErrRejected) || !strings.Contains(r.Err.Error(), arg) {
						t.Errorf("message %d: %v, want a transient error naming %s", i, r.Err, arg)
					}
				case "noresult":
					if !errors.Is(r.Err, queue.ErrNoResult) {
						t.Errorf("message %d: %v, want ErrNoResult", i, r.Err)
					}
				case "whole":
					if r.Err == nil || r.ID != "" || errors.Is(r.Err, queue.ErrRejected) {
						t.Errorf("message %d: id %q err %v, want the request's error", i, r.ID, r.Err)
					}
				}
			}
			var sizes []int
			for _, req := range fake.requests {
				sizes = append(sizes, len(req))
				for j, e := range req {
					if e["Id"] != fmt.Sprint(j) {
						t.Errorf("entry %d has id %v, want %q", j, e["Id"], fmt.Sprint(j))
					}
				}
			}
			if fmt.Sprint(sortedInts(sizes)) != fmt.Sprint(sortedInts(tc.requests)) {
				t.Errorf("requests of %v entries, want %v", sizes, tc.requests)
			}
			if n := f.count("SendMessage"); n != tc.sends {
				t.Errorf("%d SendMessage calls, want %d", n, tc.sends)
			}
		})
	}
}

func sortedInts(s []int) []int {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Attributes and delays travel in the entries as with Send.
func TestSendBatchEntryShape(t *testing.T) {
	fake := &batchFake{}
	q, _ := newFake(t, map[string]func(map[string]any) (int, any){"SendMessageBatch": fake.handle})
	// The fake returns no MD5 of the attributes; the request's shape is
	// what is checked here.
	q.SendBatch(t.Context(), "work", []queue.Outgoing{
		{Body: []byte("a"), Attributes: map[string]string{"event_id": "e1"}, Delay: 1500 * time.Millisecond},
	})
	if len(fake.requests) != 1 || len(fake.requests[0]) != 1 {
		t.Fatalf("requests %v", fake.requests)
	}
	e := fake.requests[0][0]
	if e["DelaySeconds"] != float64(2) {
		t.Errorf("DelaySeconds = %v, want 2 (rounded up)", e["DelaySeconds"])
	}
	attrs, _ := e["MessageAttributes"].(map[string]any)
	ev, _ := attrs["event_id"].(map[string]any)
	if ev["DataType"] != "String" || ev["StringValue"] != "e1" {
		t.Errorf("MessageAttributes = %v", attrs)
	}
}

func TestSendBatchUnknownName(t *testing.T) {
	q, f := newFake(t, nil)
	res := q.SendBatch(t.Context(), "nope", bodies("a", "b"))
	for i, r := range res {
		if !errors.Is(r.Err, queue.ErrUnknownQueue) {
			t.Errorf("message %d: %v", i, r.Err)
		}
	}
	if n := f.count("SendMessageBatch"); n != 0 {
		t.Errorf("%d requests for an unknown queue", n)
	}
}
