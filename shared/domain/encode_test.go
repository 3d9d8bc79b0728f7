package domain

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookstack/hookstack/shared/sqstext"
)

func TestEncodeEventIsSQSSafe(t *testing.T) {
	e := New("lead.created", "lead:ada@example.com", "standard", "msg_1", time.Unix(1, 0), map[string]string{"first_name": "Ada\uffff\ufffe"})
	e.Data = append(e.Data[:len(e.Data)-1], []byte(",\"raw\":\"x\uffff\"}")...)
	b, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if !sqstext.Valid(string(b)) {
		t.Fatalf("encoded event not SQS-safe: %q", b)
	}
	var back struct {
		Data struct {
			FirstName string `json:"first_name"`
			Raw       string `json:"raw"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &back); err != nil || back.Data.FirstName != "Ada\uffff\ufffe" || back.Data.Raw != "x\uffff" {
		t.Fatalf("decoded %+v (%v)", back, err)
	}
}

func TestSubjectEventID(t *testing.T) {
	a := New("inventory.low_stock", "inventory:1", "shopify", "X", time.Unix(1, 0), nil)
	b := New("inventory.low_stock", "inventory:2", "shopify", "X", time.Unix(1, 0), nil)
	if a.ID == b.ID {
		t.Fatalf("one source event, one type, two records: same id %q", a.ID)
	}
	if again := New("inventory.low_stock", "inventory:1", "shopify", "X", time.Unix(2, 0), 1); again.ID != a.ID {
		t.Fatalf("id not stable: %q vs %q", again.ID, a.ID)
	}
	if a.ID != "X:inventory.low_stock:inventory:1" || SubjectEventID("X", "t", "") != EventID("X", "t") {
		t.Fatalf("format: %q", a.ID)
	}
	if !strings.HasPrefix(a.ID, EventID("X", "inventory.low_stock")) {
		t.Fatal("prefix")
	}
}
