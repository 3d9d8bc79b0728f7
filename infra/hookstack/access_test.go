package hookstack

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/notify/notifystore"
	"github.com/hookstack/hookstack/shared/process"
	"github.com/hookstack/hookstack/shared/queue"
	"github.com/hookstack/hookstack/shared/store/dynamostore"
)

// stringLike is IAM's StringLike: '*' any run of characters, '?' one.
func stringLike(pattern, s string) bool {
	if pattern == "" {
		return s == ""
	}
	switch pattern[0] {
	case '*':
		for i := 0; i <= len(s); i++ {
			if stringLike(pattern[1:], s[i:]) {
				return true
			}
		}
		return false
	case '?':
		return s != "" && stringLike(pattern[1:], s[1:])
	}
	return s != "" && s[0] == pattern[0] && stringLike(pattern[1:], s[1:])
}

// allowed reports whether grants let action reach leading key key (a pk,
// or with index a gsi1pk).
func allowed(grants []TableGrant, action string, index bool, key string) bool {
	for _, g := range grants {
		if g.Index != index || !slices.Contains(g.Actions, action) {
			continue
		}
		for _, p := range g.Keys {
			if stringLike(p, key) {
				return true
			}
		}
	}
	return false
}

// TestTableKindsMatchCode checks access.go's kinds against the constants of
// the code that reads and writes them, and the grants against the keys that
// code computes: every key a function's code uses is allowed, and no
// function but the two that deliver (and the operator) can reach an
// endpoint item.
func TestTableKindsMatchCode(t *testing.T) {
	for got, want := range map[string]string{
		kindPayment: process.KindPayment, kindSubscription: process.KindSubscription,
		kindInventory: process.KindInventory, kindLead: process.KindLead, kindChat: process.KindChat,
		kindAlias: process.KindAlias, aliasSKU: process.AliasSKU, aliasSource: process.AliasSource,
		kindArchive: process.KindArchive, kindArchiveEvent: process.KindArchiveEvent,
		kindEndpoint: notifystore.KindEndpoint, kindAttempt: notifystore.KindAttempt, kindDelivered: notifystore.KindDelivered,
	} {
		if got != want {
			t.Errorf("access.go has kind %q, the code %q", got, want)
		}
	}
	if gsi1Shards != dynamostore.GSI1Shards {
		t.Errorf("gsi1Shards %d, dynamostore.GSI1Shards %d", gsi1Shards, dynamostore.GSI1Shards)
	}
	if !slices.Equal(notifystore.ListedKinds, []string{kindEndpoint, kindAttempt}) {
		t.Errorf("notifystore.ListedKinds changed: %v (only endpoint is listed by the functions and the CLI)", notifystore.ListedKinds)
	}
	if !slices.Equal(TailFunctions, append(append([]string{"ingest"}, process.Names...), "deliverer")) {
		t.Errorf("TailFunctions %v, tail reads ingest, %v and the deliverer", TailFunctions, process.Names)
	}

	pk := dynamostore.RecordPK
	archive := []string{pk(process.KindArchive, "01JDQ3Z5X8M6V4N2P0R7T9W1YB"), pk(process.KindArchiveEvent, "stripe:evt_1")}
	endpointIDs := []string{"ep_01JDQ3Z5X8M6V4N2P0R7T9W1YB", "a", "x#y", "endpoint", "0"}
	for i := range 200 {
		endpointIDs = append(endpointIDs, fmt.Sprintf("ep_%d", i))
	}
	// Keys each function's code uses.
	uses := map[string][]string{
		"payments":  append([]string{pk(process.KindPayment, "pi_3N"), pk(process.KindSubscription, "cus_9")}, archive...),
		"inventory": append([]string{pk(process.KindInventory, "gid://shopify/InventoryItem/1"), pk(process.KindInventory, "sku:HS-TEE-M"), pk(process.KindAlias, process.AliasSKU+"HS-TEE-M")}, archive...),
		"leads":     append([]string{pk(process.KindLead, "ada@example.com"), pk(process.KindAlias, process.AliasSource+"hubspot:42")}, archive...),
		"relay":     append([]string{pk(process.KindChat, "chat_1")}, archive...),
		"deliverer": {pk(notifystore.KindEndpoint, "ep_1"), pk(notifystore.KindDelivered, "d_1"), pk(notifystore.KindAttempt, "d_1#2"), pk(notifystore.KindAttempt, "d_1#2@2025-01-01T00:00:00.000000000Z")},
	}
	for fn, keys := range uses {
		for _, k := range keys {
			for _, a := range []string{DynamoGetItem, DynamoPutItem} {
				if !allowed(TableAccess[fn], a, false, k) {
					t.Errorf("%s cannot %s %q, which its code uses", fn, a, k)
				}
			}
			if slices.Contains(Processors, fn) && !allowed(TableAccess[fn], DynamoUpdateItem, false, k) {
				t.Errorf("%s cannot clear the outbox of %q", fn, k)
			}
		}
	}
	// The endpoint list: every gsi1 key List queries, for the fan-out,
	// the deliverer and the CLI.
	for _, who := range []string{"fanout", "deliverer", "operator"} {
		grants := TableAccess[who]
		if who == "operator" {
			grants = OperatorTableAccess
		}
		if !allowed(grants, DynamoQuery, true, notifystore.KindEndpoint) {
			t.Errorf("%s cannot query the unsharded endpoint key", who)
		}
		for _, id := range endpointIDs {
			if k := dynamostore.RecordGSI1PK(notifystore.KindEndpoint, id); !allowed(grants, DynamoQuery, true, k) {
				t.Errorf("%s cannot query gsi1 key %q", who, k)
			}
		}
		for _, k := range []string{dynamostore.RecordGSI1PK(notifystore.KindAttempt, "d_1"), "notification", "endpoint#10", "endpoint#", "endpointx"} {
			if allowed(grants, DynamoQuery, true, k) {
				t.Errorf("%s may query gsi1 key %q", who, k)
			}
		}
	}
	// Nobody else reaches an endpoint (signing secrets, API keys); the
	// processors do not reach each other's records either.
	for _, fn := range Functions {
		for _, id := range endpointIDs[:5] {
			for _, a := range []string{DynamoGetItem, DynamoPutItem, DynamoUpdateItem, DynamoQuery} {
				if fn != "deliverer" && allowed(TableAccess[fn], a, false, pk(notifystore.KindEndpoint, id)) {
					t.Errorf("%s may %s endpoint item %q", fn, a, id)
				}
			}
			if k := dynamostore.RecordGSI1PK(notifystore.KindEndpoint, id); fn != "deliverer" && fn != "fanout" && allowed(TableAccess[fn], DynamoQuery, true, k) {
				t.Errorf("%s may list endpoints (gsi1 key %q)", fn, k)
			}
		}
	}
	others := map[string][]string{
		"payments":  {pk(process.KindLead, "a@b.c"), pk(process.KindAlias, process.AliasSKU+"x"), pk(notifystore.KindDelivered, "d")},
		"inventory": {pk(process.KindPayment, "pi"), pk(process.KindAlias, process.AliasSource+"x"), "inventoryx#1"},
		"leads":     {pk(process.KindChat, "c"), pk(process.KindAlias, process.AliasSKU+"x")},
		"relay":     {pk(process.KindInventory, "i"), pk(process.KindAlias, process.AliasSKU+"x")},
		"deliverer": {pk(process.KindPayment, "pi"), archive[0]},
		"fanout":    {pk(notifystore.KindEndpoint, "ep_1"), pk(notifystore.KindDelivered, "d")},
	}
	for fn, keys := range others {
		for _, k := range keys {
			if allowed(TableAccess[fn], DynamoGetItem, false, k) || allowed(TableAccess[fn], DynamoPutItem, false, k) {
				t.Errorf("%s may reach %q, which its code never uses", fn, k)
			}
		}
	}
	// The operator reads the archive (replay) but cannot write it, nor
	// reach the processors' records.
	for k, want := range map[string]bool{archive[0]: true, archive[1]: true, pk(process.KindPayment, "pi"): false} {
		if got := allowed(OperatorTableAccess, DynamoGetItem, false, k); got != want {
			t.Errorf("operator GetItem %q: %v, want %v", k, got, want)
		}
		if allowed(OperatorTableAccess, DynamoPutItem, false, k) {
			t.Errorf("operator may PutItem %q", k)
		}
	}
}

// tableStatement is a table statement as synthesized, in a comparable form.
type tableStatement struct {
	actions, resource, keys string
}

func (s *synthesized) tableStatements(t *testing.T, stmts []statement) (out []tableStatement) {
	t.Helper()
	table := "<" + s.tableID + ">"
	for _, st := range stmts {
		isTable := false
		for _, r := range st.resources {
			isTable = isTable || strings.HasPrefix(r, table)
		}
		for _, a := range st.actions {
			isTable = isTable || strings.HasPrefix(a, "dynamodb:")
		}
		if !isTable {
			continue
		}
		if st.effect != "Allow" {
			t.Errorf("table statement with effect %s", st.effect)
		}
		cond, _ := st.condition.(map[string]any)
		keys := strs(get(cond, LeadingKeysOperator, LeadingKeysKey))
		if len(cond) != 2 || len(get(cond, LeadingKeysOperator).(map[string]any)) != 1 || len(keys) == 0 ||
			get(cond, LeadingKeysPresent, LeadingKeysKey) != "false" {
			t.Errorf("table statement %v on %v without exactly a %s %s condition: %v", st.actions, st.resources, LeadingKeysOperator, LeadingKeysKey, st.condition)
			continue
		}
		for _, a := range st.actions {
			if a == "dynamodb:Scan" || strings.HasPrefix(a, "dynamodb:Batch") || strings.HasPrefix(a, "dynamodb:PartiQL") || strings.Contains(a, "*") {
				t.Errorf("table statement allows %s, which the condition cannot restrict", a)
			}
		}
		if len(st.resources) != 1 {
			t.Errorf("table statement on %v, want one resource", st.resources)
			continue
		}
		actions := slices.Clone(st.actions)
		sort.Strings(actions)
		out = append(out, tableStatement{strings.Join(actions, ","), strings.TrimPrefix(st.resources[0], table), strings.Join(keys, " ")})
	}
	slices.SortFunc(out, func(a, b tableStatement) int { return strings.Compare(a.actions+a.resource, b.actions+b.resource) })
	return out
}

// Expected table statements, written out (not derived from TableAccess).
var (
	endpointListKeys = "endpoint endpoint#0 endpoint#1 endpoint#2 endpoint#3 endpoint#4 endpoint#5 endpoint#6 endpoint#7"
	processorRW      = "dynamodb:GetItem,dynamodb:PutItem,dynamodb:UpdateItem"
	wantTable        = map[string][]tableStatement{
		"ingest":    nil,
		"payments":  {{processorRW, "", "payment#* subscription#* archive#* archive-event#*"}},
		"inventory": {{processorRW, "", "inventory#* alias#sku:* archive#* archive-event#*"}},
		"leads":     {{processorRW, "", "lead#* alias#source:* archive#* archive-event#*"}},
		"relay":     {{processorRW, "", "chat#* archive#* archive-event#*"}},
		"fanout":    {{"dynamodb:Query", "/index/gsi1", endpointListKeys}},
		"deliverer": {
			{"dynamodb:GetItem,dynamodb:PutItem", "", "endpoint#* delivered#* delivery-attempt#*"},
			{"dynamodb:Query", "/index/gsi1", endpointListKeys},
		},
		"operator": {
			{"dynamodb:GetItem", "", "archive#* archive-event#*"},
			{"dynamodb:GetItem,dynamodb:PutItem", "", "endpoint#*"},
			{"dynamodb:Query", "/index/gsi1", endpointListKeys},
		},
	}
)

// TestTableLeastPrivilege: each function's role (and the operator policy)
// reaches the table only through statements carrying the LeadingKeys
// condition, with exactly the actions and key patterns its code needs; no
// Scan, no batch or PartiQL action, no index wildcard.
func TestTableLeastPrivilege(t *testing.T) {
	s := fixture(t, "default")
	byFn := s.roleStatements(t)
	for _, pol := range s.resources("AWS::IAM::ManagedPolicy") {
		byFn["operator"] = append(byFn["operator"], parseStatements(get(props(pol), "PolicyDocument"))...)
	}
	for who, want := range wantTable {
		t.Run(who, func(t *testing.T) {
			got := s.tableStatements(t, byFn[who])
			if !slices.Equal(got, want) {
				t.Errorf("table statements\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestClaimReads: the functions that read claim-check bodies may get
// objects under bodies/ and list the bucket only under bodies/ (so a
// missing body is NoSuchKey, not AccessDenied); ingest only puts; the
// fan-out has no S3 access.
func TestClaimReads(t *testing.T) {
	s := fixture(t, "default")
	byFn := s.roleStatements(t)
	bucket := "<" + s.bucketID + ">"
	for _, fn := range Functions {
		t.Run(fn, func(t *testing.T) {
			var got []string
			for _, st := range byFn[fn] {
				for _, a := range st.actions {
					if !strings.HasPrefix(a, "s3:") {
						continue
					}
					cond := ""
					if st.condition != nil {
						cond = " if " + flatten(st.condition)
					}
					got = append(got, a+" on "+strings.Join(st.resources, ",")+cond)
				}
			}
			sort.Strings(got)
			var want []string
			switch {
			case fn == "ingest":
				want = []string{"s3:PutObject on " + bucket + "/bodies/*"}
			case slices.Contains(ClaimReaders, fn):
				want = []string{
					"s3:GetObject on " + bucket + "/bodies/*",
					"s3:ListBucket on " + bucket,
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("S3 grants\n got %q\nwant %q", got, want)
			}
		})
	}
	if !slices.Contains(ClaimReaders, "deliverer") || slices.Contains(ClaimReaders, "fanout") {
		t.Errorf("ClaimReaders %v", ClaimReaders)
	}
}

// TestDLQAlarmCommands: each DLQ alarm names the CLI commands that work on
// this stack: --queue NAME and --stack with the stack's name (without it
// the CLI would target the local dev server).
func TestDLQAlarmCommands(t *testing.T) {
	for _, tc := range []struct{ fixture, stack string }{{"default", "Hookstack"}, {"custom", "HookstackDev"}} {
		s := fixture(t, tc.fixture)
		byDLQ := map[string]string{}
		for _, a := range s.resources("AWS::CloudWatch::Alarm") {
			p := props(a)
			if p["MetricName"] == "ApproximateNumberOfMessagesVisible" {
				byDLQ[refID(get(p, "Dimensions", 0, "Value"))] = fmt.Sprint(p["AlarmDescription"])
			}
		}
		for _, name := range envelope.AllQueues {
			t.Run(tc.fixture+"/"+name, func(t *testing.T) {
				desc, ok := byDLQ[s.queueID[queue.DLQ(name)]]
				if !ok {
					t.Fatalf("no alarm on %s", queue.DLQ(name))
				}
				for _, want := range []string{
					"`hookstack dlq list --queue " + name + " --stack " + tc.stack + "`",
					"`hookstack dlq redrive --queue " + name + " --stack " + tc.stack + "`",
				} {
					if !strings.Contains(desc, want) {
						t.Errorf("description %q lacks %s", desc, want)
					}
				}
				if strings.Contains(desc, "dlq list "+queue.DLQ(name)) || strings.Contains(desc, "dlq redrive "+queue.DLQ(name)) {
					t.Errorf("description %q still gives the DLQ as an argument", desc)
				}
			})
		}
	}
}

// TestOperatorPolicy: one managed policy, attached to nothing, granting
// exactly the CLI's calls on this stack's resources (its table statements
// are checked in TestTableLeastPrivilege).
func TestOperatorPolicy(t *testing.T) {
	for _, f := range []string{"default", "custom"} {
		t.Run(f, func(t *testing.T) {
			s := fixture(t, f)
			pols := s.resources("AWS::IAM::ManagedPolicy")
			if len(pols) != 1 {
				t.Fatalf("%d managed policies, want 1", len(pols))
			}
			var p map[string]any
			for id, pol := range pols {
				p = props(pol)
				if id != logicalID(s.stack.OperatorPolicy) {
					t.Errorf("managed policy %s is not the operator policy", id)
				}
			}
			for _, k := range []string{"Roles", "Users", "Groups"} {
				if p[k] != nil {
					t.Errorf("operator policy attached to %s %v", k, p[k])
				}
			}
			ref := func(ids ...string) string {
				var out []string
				for _, id := range ids {
					out = append(out, "<"+id+">")
				}
				sort.Strings(out)
				return strings.Join(out, " ")
			}
			var secrets, dlqs, sources, logs []string
			for _, prov := range s.stack.Config.Providers {
				secrets = append(secrets, s.secretID[prov])
			}
			for _, q := range envelope.AllQueues {
				sources = append(sources, s.queueID[q])
				dlqs = append(dlqs, s.queueID[queue.DLQ(q)])
			}
			for _, fn := range TailFunctions {
				logs = append(logs, refID(get(props(s.resource(t, s.fnID[fn])), "LoggingConfig", "LogGroup")))
			}
			want := map[string]string{
				"cloudformation:DescribeStacks":           "<AWS::StackId>",
				"secretsmanager:GetSecretValue":           ref(secrets...),
				"secretsmanager:PutSecretValue":           ref(secrets...),
				"secretsmanager:UpdateSecretVersionStage": ref(secrets...),
				"sqs:ReceiveMessage":                      ref(dlqs...),
				"sqs:ChangeMessageVisibility":             ref(dlqs...),
				"sqs:DeleteMessage":                       ref(dlqs...),
				"sqs:StartMessageMoveTask":                ref(dlqs...),
				"sqs:ListMessageMoveTasks":                ref(dlqs...),
				"sqs:GetQueueAttributes":                  ref(append(slices.Clone(dlqs), sources...)...),
				"sqs:SendMessage":                         ref(sources...),
				"logs:FilterLogEvents":                    ref(logs...),
			}
			got := map[string][]string{}
			for _, st := range parseStatements(get(p, "PolicyDocument")) {
				if st.effect != "Allow" {
					t.Errorf("statement effect %s", st.effect)
				}
				for _, a := range st.actions {
					if strings.HasPrefix(a, "dynamodb:") {
						continue // TestTableLeastPrivilege
					}
					if st.condition != nil {
						t.Errorf("%s has a condition %v", a, st.condition)
					}
					got[a] = append(got[a], st.resources...)
				}
			}
			for a, res := range got {
				sort.Strings(res)
				if w, ok := want[a]; !ok {
					t.Errorf("unexpected action %s on %v", a, res)
				} else if g := strings.Join(res, " "); g != w {
					t.Errorf("%s on\n %s\nwant\n %s", a, g, w)
				}
			}
			for a := range want {
				if got[a] == nil {
					t.Errorf("no %s", a)
				}
			}
		})
	}
}
