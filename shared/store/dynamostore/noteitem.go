package dynamostore

// A notification's items, converted by hand. They were written and read with
// attributevalue.MarshalMap/UnmarshalMap on the struct below (tags kept as
// the documentation of the layout); the hand-written conversions produce
// the same items and read everything that decoder read
// (TestNoteItemMatchesAttributeValue, FuzzDecodeItem), without the
// reflection and the package init that module brought into every Lambda.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// noteItem is one of a notification's two items.
type noteItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ID        string `dynamodbav:"id"`
	Type      string `dynamodbav:"type"`
	Subject   string `dynamodbav:"subject,omitempty"`
	CreatedAt string `dynamodbav:"created_at"`
	Event     string `dynamodbav:"event,omitempty"`
	GSI1PK    string `dynamodbav:"gsi1pk"`
	GSI1SK    string `dynamodbav:"gsi1sk"`
	ExpiresAt int64  `dynamodbav:"expires_at,omitempty"`
}

// Attribute names of a notification item.
const (
	noteID        = "id"
	noteType      = "type"
	noteSubject   = "subject"
	noteCreatedAt = "created_at"
	noteEvent     = "event"
)

// item is it as a DynamoDB item: every string as S (an empty one too,
// except the omitempty subject and event), expires_at as N unless 0.
func (it noteItem) item() map[string]types.AttributeValue {
	m := make(map[string]types.AttributeValue, 10)
	m[AttrPK] = &types.AttributeValueMemberS{Value: it.PK}
	m[AttrSK] = &types.AttributeValueMemberS{Value: it.SK}
	m[noteID] = &types.AttributeValueMemberS{Value: it.ID}
	m[noteType] = &types.AttributeValueMemberS{Value: it.Type}
	if it.Subject != "" {
		m[noteSubject] = &types.AttributeValueMemberS{Value: it.Subject}
	}
	m[noteCreatedAt] = &types.AttributeValueMemberS{Value: it.CreatedAt}
	if it.Event != "" {
		m[noteEvent] = &types.AttributeValueMemberS{Value: it.Event}
	}
	m[AttrGSI1PK] = &types.AttributeValueMemberS{Value: it.GSI1PK}
	m[AttrGSI1SK] = &types.AttributeValueMemberS{Value: it.GSI1SK}
	if it.ExpiresAt != 0 {
		m[AttrExpiresAt] = &types.AttributeValueMemberN{Value: strconv.FormatInt(it.ExpiresAt, 10)}
	}
	return m
}

// noteFields are the item's attribute names in the struct's field order.
var noteFields = [...]string{AttrPK, AttrSK, noteID, noteType, noteSubject, noteCreatedAt, noteEvent, AttrGSI1PK, AttrGSI1SK, AttrExpiresAt}

// field returns the address of the string field named name, or of the
// integer field (expires_at), or neither.
func (it *noteItem) field(name string) (*string, *int64) {
	switch name {
	case AttrPK:
		return &it.PK, nil
	case AttrSK:
		return &it.SK, nil
	case noteID:
		return &it.ID, nil
	case noteType:
		return &it.Type, nil
	case noteSubject:
		return &it.Subject, nil
	case noteCreatedAt:
		return &it.CreatedAt, nil
	case noteEvent:
		return &it.Event, nil
	case AttrGSI1PK:
		return &it.GSI1PK, nil
	case AttrGSI1SK:
		return &it.GSI1SK, nil
	case AttrExpiresAt:
		return nil, &it.ExpiresAt
	}
	return nil, nil
}

// decodeNoteItem reads a notification item as attributevalue.UnmarshalMap
// did into a zero noteItem:
//   - attributes are matched by name, else case-insensitively
//     (strings.EqualFold) as attributevalue's field lookup does; other
//     attributes are ignored; an absent one leaves its field empty;
//   - a string field takes S or N (the number's text); NULL empties it;
//   - expires_at takes N holding a base-10 int64; NULL is 0;
//   - any other type is an error.
//
// Where an item holds both an exact and a case-folded name for one field
// (attributevalue then kept whichever its map iteration met last), the exact
// one wins.
func decodeNoteItem(av map[string]types.AttributeValue) (noteItem, error) {
	var it noteItem
	var folded []string
	for name, v := range av {
		s, n := it.field(name)
		if s == nil && n == nil {
			folded = append(folded, name)
			continue
		}
		if err := setNoteField(name, v, s, n); err != nil {
			return noteItem{}, err
		}
	}
	slices.Sort(folded) // deterministic where several fold to one field
	for _, name := range folded {
		i := slices.IndexFunc(noteFields[:], func(f string) bool { return strings.EqualFold(f, name) })
		if i < 0 {
			continue
		}
		f := noteFields[i]
		target := &it
		if _, exact := av[f]; exact {
			// Checked all the same (attributevalue decoded every match),
			// but the exact name's value is kept.
			target = &noteItem{}
		}
		s, n := target.field(f)
		if err := setNoteField(name, av[name], s, n); err != nil {
			return noteItem{}, err
		}
	}
	return it, nil
}

func setNoteField(name string, v types.AttributeValue, s *string, n *int64) error {
	switch v := v.(type) {
	case nil, *types.AttributeValueMemberNULL:
		if s != nil {
			*s = ""
		} else {
			*n = 0
		}
		return nil
	case *types.AttributeValueMemberS:
		if s != nil {
			*s = v.Value
			return nil
		}
	case *types.AttributeValueMemberN:
		if s != nil {
			*s = v.Value
			return nil
		}
		i, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: notification attribute %s %q", errCorrupt, name, v.Value)
		}
		*n = i
		return nil
	}
	want := "string"
	if n != nil {
		want = "integer"
	}
	return fmt.Errorf("%w: notification attribute %s: %T, want a %s", errCorrupt, name, v, want)
}
