package envelope

import (
	"bytes"
	"net/url"

	"github.com/tidwall/gjson"
)

// slackTokenField is Slack's (deprecated) verification token: a shared
// secret in every Events API body, slash command, interaction payload and
// SSL check. It authenticates nothing once the signature is verified, so it
// is taken out of what is stored and forwarded.
const slackTokenField = "token"

// stripJSONMember returns the JSON object body without its top-level
// members named key (compared after unescaping), every other byte kept as
// is: whitespace, member order and escapes are unchanged. body must be a
// valid JSON object; when key is absent body itself is returned.
func stripJSONMember(body []byte, key string) []byte {
	type member struct {
		start, end int // the member's bytes, key through value
		drop       bool
	}
	var members []member
	found := false
	gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
		m := member{start: k.Index, end: v.Index + len(v.Raw), drop: k.Str == key}
		found = found || m.drop
		members = append(members, m)
		return true
	})
	if !found || !membersIndexed(body, members[0].start, members[len(members)-1].end) {
		return body
	}
	var out bytes.Buffer
	out.Grow(len(body))
	out.Write(body[:members[0].start])
	kept := -1 // the last member written
	for i, m := range members {
		if m.drop {
			continue
		}
		if kept >= 0 {
			// the separator (comma and white space) that followed it
			out.Write(body[members[kept].end:members[kept+1].start])
		}
		out.Write(body[m.start:m.end])
		kept = i
	}
	out.Write(body[members[len(members)-1].end:])
	return out.Bytes()
}

// membersIndexed guards against positions gjson could not give (Index 0).
func membersIndexed(body []byte, start, end int) bool {
	return start > 0 && end <= len(body) && start < end
}

// stripFormField returns a form-encoded body without its fields named key
// (compared after unescaping), the other fields' bytes and order kept. When
// key is absent body itself is returned.
func stripFormField(body []byte, key string) []byte {
	fields := bytes.Split(body, []byte("&"))
	keep := fields[:0:0]
	for _, f := range fields {
		name, _, _ := bytes.Cut(f, []byte("="))
		if n, err := url.QueryUnescape(string(name)); err == nil && n == key {
			continue
		}
		keep = append(keep, f)
	}
	if len(keep) == len(fields) {
		return body
	}
	return bytes.Join(keep, []byte("&"))
}

// unparseableSlack takes Slack's verification token out of a body Extract
// could not read: from a JSON object, from a form (and its payload), else
// wherever a "token": "..." member appears in the text.
func unparseableSlack(body []byte) []byte {
	if looksJSON(body) {
		if firstByte(body) == '{' && gjson.ValidBytes(body) {
			return stripJSONMember(body, slackTokenField)
		}
		return jsonToken().ReplaceAll(body, []byte(`${1}"`+Redacted+`"`))
	}
	if _, err := url.ParseQuery(string(body)); err != nil {
		return formToken().ReplaceAll(jsonToken().ReplaceAll(body, []byte(`${1}"`+Redacted+`"`)), []byte(`${1}${2}`+url.QueryEscape(Redacted)))
	}
	return redactSlack(stripFormField(body, slackTokenField))
}
