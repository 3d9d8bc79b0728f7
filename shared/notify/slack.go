package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookstack/hookstack/shared/domain"
)

// SlackMessage is an incoming-webhook message: text (the notification and
// fallback) and Block Kit blocks.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is the subset of Block Kit we emit: header, section (text and
// fields) and context.
type SlackBlock struct {
	Type     string      `json:"type"`
	Text     *SlackText  `json:"text,omitempty"`
	Fields   []SlackText `json:"fields,omitempty"`
	Elements []SlackText `json:"elements,omitempty"`
}

// SlackText is a text object, "plain_text" or "mrkdwn".
type SlackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Block Kit limits we stay within.
const (
	slackHeaderMax  = 150
	slackSectionMax = 3000
	slackFieldMax   = 2000
	slackDataMax    = 2500 // generic fallback: characters of the JSON data shown
)

// slackEscape escapes the three characters Slack's mrkdwn treats as control
// characters, so that event data cannot produce links or @mentions.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

type slackField struct{ label, value string }

// slackCard is what every renderer produces.
type slackCard struct {
	title   string // header, plain text
	emoji   string // ":white_check_mark:"
	summary string // one line, unescaped
	fields  []slackField
}

func (c slackCard) message(ev domain.Event) SlackMessage {
	text := truncate(c.emoji+" "+slackEscape(c.summary), slackSectionMax)
	if ev.Late {
		// The marker survives the truncation of a long summary.
		text = truncate(c.emoji+" "+slackEscape(c.summary), slackSectionMax-utf8.RuneCountInString(lateMarker)) + lateMarker
	}
	m := SlackMessage{Text: text}
	m.Blocks = append(m.Blocks,
		SlackBlock{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(c.title, slackHeaderMax), Emoji: true}},
	)
	sec := SlackBlock{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: text}}
	for _, f := range c.fields {
		if f.value == "" || len(sec.Fields) == 10 {
			continue
		}
		sec.Fields = append(sec.Fields, SlackText{Type: "mrkdwn", Text: truncate("*"+f.label+"*\n"+slackEscape(f.value), slackFieldMax)})
	}
	m.Blocks = append(m.Blocks, sec)
	ctx := "`" + slackEscape(ev.Type) + "`"
	if ev.Subject != "" {
		ctx += " · " + slackEscape(ev.Subject)
	}
	if !ev.OccurredAt.IsZero() {
		ctx += " · " + ev.OccurredAt.UTC().Format(time.RFC3339)
	}
	m.Blocks = append(m.Blocks, SlackBlock{Type: "context", Elements: []SlackText{{Type: "mrkdwn", Text: truncate(ctx, slackSectionMax)}}})
	return m
}

// lateMarker ends the summary of a late milestone (domain.Event.Late: its
// webhook arrived after newer ones for the same record, so its time is
// older than what was already announced).
const lateMarker = " (late)"

// RenderSlack renders ev as a Slack message. Known types have their own
// card, built from the Data the processors emit: task.completed
// (shared/relay: card and board names, lists), payment.succeeded, failed and
// refunded (shared/payments: amount in minor units, currency, customer),
// inventory.low_stock and out_of_stock (shared/inventory: title, sku,
// available, threshold), lead.created and lead.updated (shared/leads: names,
// email, company, source), support.chat_closed (shared/relay: customer,
// timestamps). Anything else, or data that does not decode, gets the generic
// card: type, source, subject and the data as JSON (truncated). A late
// milestone's summary (the text and the section) ends in " (late)"; an
// in-order event's message is unchanged.
func RenderSlack(ev domain.Event) SlackMessage {
	var (
		card slackCard
		ok   bool
	)
	switch ev.Type {
	case "task.completed":
		card, ok = taskCard(ev)
	case "payment.succeeded", "payment.failed", "payment.refunded":
		card, ok = paymentCard(ev)
	case "inventory.low_stock", "inventory.out_of_stock":
		card, ok = stockCard(ev)
	case "lead.created", "lead.updated":
		card, ok = leadCard(ev)
	case "support.chat_closed":
		card, ok = chatCard(ev)
	}
	if !ok {
		card = genericCard(ev)
	}
	return card.message(ev)
}

func taskCard(ev domain.Event) (slackCard, bool) {
	var d struct {
		CardID     string `json:"card_id"`
		CardName   string `json:"card_name"`
		BoardName  string `json:"board_name"`
		ListBefore string `json:"list_before"`
		ListAfter  string `json:"list_after"`
	}
	if json.Unmarshal(ev.Data, &d) != nil || (d.CardName == "" && d.CardID == "") {
		return slackCard{}, false
	}
	name := firstNonEmpty(d.CardName, d.CardID)
	s := "Task completed: " + name
	if d.ListAfter != "" {
		s += " moved to " + d.ListAfter
	}
	if d.BoardName != "" {
		s += " on " + d.BoardName
	}
	list := d.ListAfter
	if d.ListBefore != "" && d.ListAfter != "" {
		list = d.ListBefore + " → " + d.ListAfter
	}
	return slackCard{title: "Task completed", emoji: ":white_check_mark:", summary: s,
		fields: []slackField{{"Task", name}, {"Board", d.BoardName}, {"List", list}}}, true
}

func paymentCard(ev domain.Event) (slackCard, bool) {
	var d struct {
		ID             string `json:"id"`
		Status         string `json:"status"`
		Amount         *int64 `json:"amount"`
		AmountRefunded int64  `json:"amount_refunded"`
		Currency       string `json:"currency"`
		Customer       string `json:"customer"`
	}
	if json.Unmarshal(ev.Data, &d) != nil || d.Amount == nil || d.Currency == "" {
		return slackCard{}, false
	}
	amount := FormatAmount(*d.Amount, d.Currency)
	card := slackCard{fields: []slackField{{"Amount", amount}, {"Customer", d.Customer}, {"Payment", d.ID}, {"Status", d.Status}}}
	switch ev.Type {
	case "payment.succeeded":
		card.title, card.emoji, card.summary = "Payment succeeded", ":moneybag:", "Payment succeeded: "+amount
	case "payment.failed":
		card.title, card.emoji, card.summary = "Payment failed", ":x:", "Payment failed: "+amount
	default:
		refunded := FormatAmount(d.AmountRefunded, d.Currency)
		card.title, card.emoji, card.summary = "Payment refunded", ":leftwards_arrow_with_hook:", "Payment refunded: "+refunded+" of "+amount
		card.fields = append(card.fields, slackField{"Refunded", refunded})
	}
	if d.Customer != "" {
		card.summary += " from " + d.Customer
	}
	return card, true
}

func stockCard(ev domain.Event) (slackCard, bool) {
	var d struct {
		ItemID    string `json:"inventory_item_id"`
		SKU       string `json:"sku"`
		Title     string `json:"title"`
		Available *int64 `json:"available"`
		Threshold int64  `json:"threshold"`
	}
	if json.Unmarshal(ev.Data, &d) != nil || d.Available == nil {
		return slackCard{}, false
	}
	name := firstNonEmpty(d.Title, d.SKU, d.ItemID, "item")
	if d.SKU != "" && name != d.SKU {
		name += " (SKU " + d.SKU + ")"
	}
	avail := strconv.FormatInt(*d.Available, 10)
	card := slackCard{fields: []slackField{{"Item", firstNonEmpty(d.Title, d.ItemID)}, {"SKU", d.SKU}, {"Available", avail}, {"Threshold", strconv.FormatInt(d.Threshold, 10)}}}
	if ev.Type == "inventory.out_of_stock" {
		card.title, card.emoji, card.summary = "Out of stock", ":rotating_light:", "Out of stock: "+name
	} else {
		card.title, card.emoji = "Low stock", ":warning:"
		card.summary = fmt.Sprintf("Low stock: %s: %s left (threshold %d)", name, avail, d.Threshold)
	}
	return card, true
}

func leadCard(ev domain.Event) (slackCard, bool) {
	var d leadData
	if json.Unmarshal(ev.Data, &d) != nil || (d.Email == "" && d.Key == "") {
		return slackCard{}, false
	}
	name := strings.TrimSpace(d.FirstName + " " + d.LastName)
	who := firstNonEmpty(name, d.Email, d.Key)
	if name != "" && d.Email != "" {
		who += " <" + d.Email + ">"
	}
	if d.Company != "" {
		who += " at " + d.Company
	}
	card := slackCard{title: "New lead", emoji: ":bust_in_silhouette:", summary: "New lead: " + who,
		fields: []slackField{{"Name", name}, {"Email", d.Email}, {"Company", d.Company}, {"Source", firstNonEmpty(d.Source, d.Provider)}, {"Status", d.Status}}}
	if ev.Type == "lead.updated" {
		card.title, card.emoji, card.summary = "Lead updated", ":pencil2:", "Lead updated: "+who
	}
	return card, true
}

func chatCard(ev domain.Event) (slackCard, bool) {
	var d struct {
		ChatID   string `json:"chat_id"`
		Customer struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Email string `json:"email"`
		} `json:"customer"`
		Timestamps struct {
			StartedAt time.Time `json:"started_at"`
			ClosedAt  time.Time `json:"closed_at"`
		} `json:"timestamps"`
	}
	if json.Unmarshal(ev.Data, &d) != nil || d.ChatID == "" {
		return slackCard{}, false
	}
	who := firstNonEmpty(d.Customer.Name, d.Customer.Email, d.Customer.ID, "a customer")
	if d.Customer.Name != "" && d.Customer.Email != "" {
		who += " (" + d.Customer.Email + ")"
	}
	s := "Chat closed with " + who
	var lasted string
	if !d.Timestamps.StartedAt.IsZero() && d.Timestamps.ClosedAt.After(d.Timestamps.StartedAt) {
		lasted = d.Timestamps.ClosedAt.Sub(d.Timestamps.StartedAt).Round(time.Second).String()
		s += " after " + lasted
	}
	return slackCard{title: "Chat closed", emoji: ":speech_balloon:", summary: s,
		fields: []slackField{{"Customer", firstNonEmpty(d.Customer.Name, d.Customer.ID)}, {"Email", d.Customer.Email}, {"Chat", d.ChatID}, {"Duration", lasted}}}, true
}

func genericCard(ev domain.Event) slackCard {
	s := ev.Type + " event"
	if ev.Source != "" {
		s += " from " + ev.Source
	}
	if ev.Subject != "" {
		s += " (" + ev.Subject + ")"
	}
	card := slackCard{title: firstNonEmpty(ev.Type, "event"), emoji: ":bell:", summary: s}
	if len(ev.Data) > 0 {
		data := prettyJSON(ev.Data)
		card.fields = append(card.fields, slackField{"Data", "```" + truncate(data, slackDataMax-8) + "```"})
	}
	return card
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Currencies whose minor unit is not 1/100 (as Stripe counts amounts).
var (
	zeroDecimal  = map[string]bool{"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true, "KRW": true, "MGA": true, "PYG": true, "RWF": true, "UGX": true, "VND": true, "VUV": true, "XAF": true, "XOF": true, "XPF": true}
	threeDecimal = map[string]bool{"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true}
)

// FormatAmount formats an amount in minor units: 2000 "usd" → "20.00 USD",
// 500 "jpy" → "500 JPY", 1234 "kwd" → "1.234 KWD".
func FormatAmount(minor int64, currency string) string {
	cur := strings.ToUpper(currency)
	digits := 2
	switch {
	case zeroDecimal[cur]:
		digits = 0
	case threeDecimal[cur]:
		digits = 3
	}
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if digits > 0 {
		for len(s) <= digits {
			s = "0" + s
		}
		s = s[:len(s)-digits] + "." + s[len(s)-digits:]
	}
	if neg {
		s = "-" + s
	}
	return strings.TrimSpace(s + " " + cur)
}

// slackRequest builds the POST of ev's message to a Slack incoming webhook.
func slackRequest(ev domain.Event, ep Endpoint) (*outbound, error) {
	body, err := marshalJSON(RenderSlack(ev))
	if err != nil {
		return nil, fmt.Errorf("slack message for %s: %w", ev.ID, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return &outbound{method: http.MethodPost, url: ep.URL, body: body, header: h}, nil
}

// prettyJSON indents raw JSON for display, with "<", ">" and "&" as
// themselves (not \u003c...: slackEscape escapes them for Slack), numbers
// kept exactly. Invalid JSON is returned as is.
func prettyJSON(raw json.RawMessage) string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}
