package hookstack

import (
	"slices"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// Table access: which items of the single table each function (and the
// operator's CLI) may touch, as dynamodb:LeadingKeys conditions on the
// partition keys its code uses. The table holds every kind of record side
// by side, including the endpoints, whose items carry outbound signing
// secrets and Mailchimp API keys; only the functions that deliver may read
// them.
//
// Item layout (shared/store/README.md, shared/store/dynamostore): a record
// is pk "<kind>#<key>"; a record of a listed kind (notifystore.ListedKinds)
// also has gsi1pk "<kind>#<shard>", shard 0..GSI1Shards-1 (dynamostore
// shard.go), or the unsharded "<kind>" on items written before sharding,
// and is listed by a Query on gsi1 under each of those keys. For a Query on
// gsi1, dynamodb:LeadingKeys is the index's partition key (gsi1pk).
//
// Conditions use ForAllValues:StringLike, which is also true when a request
// carries no leading key at all: a Scan (or PartiQL) has none, so no grant
// here includes dynamodb:Scan, and none of the code below scans
// (dynamostore.Store.Scan is for tests and is never called in AWS).

// Record kinds: the pk prefix "<kind>#" of each, with the code that reads or
// writes it. access_test.go checks these against the constants.
const (
	// shared/process writer.go KindPayment, KindSubscription: processPayments.
	kindPayment      = "payment"
	kindSubscription = "subscription"
	// shared/process writer.go KindInventory: processInventory, mergeSKU.
	kindInventory = "inventory"
	// shared/process writer.go KindLead: processLeads, mergeSource.
	kindLead = "lead"
	// shared/process writer.go KindChat: processRelay.
	kindChat = "chat"
	// shared/process writer.go KindAlias, keys "sku:<sku>" (alias.go
	// AliasSKU, inventory) and "source:<provider>:<id>" (AliasSource, leads).
	kindAlias = "alias"
	// shared/process archive.go KindArchive, KindArchiveEvent: every
	// processor's Handler.archive (Put); the CLI's `hookstack replay`
	// (process.FindArchived: Get).
	kindArchive      = "archive"
	kindArchiveEvent = "archive-event"
	// shared/notify/notifystore endpoints.go KindEndpoint: Endpoints.List
	// (Query on gsi1: fanout, deliverer, CLI), Endpoints.change/Remove (Get
	// and Put: the deliverer's DisableEndpoint on 410 Gone, the CLI's
	// endpoints add/rm/enable/disable/rotate-secret).
	kindEndpoint = "endpoint"
	// shared/notify/notifystore deliverylog.go KindAttempt, KindDelivered:
	// DeliveryLog.Record and Delivered (Get and Put: deliverer).
	kindAttempt   = "delivery-attempt"
	kindDelivered = "delivered"

	// aliasSKU and aliasSource: shared/process alias.go AliasSKU, AliasSource.
	aliasSKU    = "sku:"
	aliasSource = "source:"

	// gsi1Shards: shared/store/dynamostore shard.go GSI1Shards.
	gsi1Shards = 8
)

// Processors' notifications log (kind "notification", AppendNotification)
// is written only when process.Deps.Notifications is set, which
// process.FromEnv (the Lambdas) never does: the dev server's log only.

// DynamoDB actions the code calls.
const (
	DynamoGetItem    = "dynamodb:GetItem"    // Store.Get
	DynamoPutItem    = "dynamodb:PutItem"    // Store.Put (conditional)
	DynamoUpdateItem = "dynamodb:UpdateItem" // Store.ClearOutbox (processors' outbox)
	DynamoQuery      = "dynamodb:Query"      // Store.List (gsi1)
)

// LeadingKeysCondition is the condition every table grant carries.
const (
	LeadingKeysOperator = "ForAllValues:StringLike"
	LeadingKeysKey      = "dynamodb:LeadingKeys"
	// LeadingKeysPresent: and the request must name a partition key. A
	// ForAllValues condition is true for a request that names none (a Scan,
	// PartiQL), so this keeps a grant from covering one if an action is
	// ever added by mistake.
	LeadingKeysPresent = "Null"
)

// TableGrant is one statement on the table: Actions on the items whose
// partition key matches one of Keys (StringLike patterns), on the table or,
// with Index, on gsi1 (Keys then match gsi1pk).
type TableGrant struct {
	Actions []string
	Index   bool
	Keys    []string
}

// recordKeys are the pk patterns of records of kinds: "<kind>#*".
func recordKeys(kinds ...string) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = recordKeysUnder(k, "")
	}
	return out
}

// recordKeysUnder is the pk pattern of the records of kind whose key starts
// with keyPrefix: "<kind>#<keyPrefix>*".
func recordKeysUnder(kind, keyPrefix string) string { return kind + "#" + keyPrefix + "*" }

// listKeys are the gsi1pk values a List of kind queries: "<kind>" (items
// written before sharding) and "<kind>#0" .. "<kind>#7", exactly.
func listKeys(kind string) []string {
	out := []string{kind}
	for i := range gsi1Shards {
		out = append(out, kind+"#"+strconv.Itoa(i))
	}
	return out
}

var (
	processorActions = []string{DynamoGetItem, DynamoPutItem, DynamoUpdateItem}
	// archiveKeys: every processor archives what it handled.
	archiveKeys = recordKeys(kindArchive, kindArchiveEvent)
	// listEndpoints: Endpoints.List, one Query per gsi1 key of endpoints.
	listEndpoints = TableGrant{Actions: []string{DynamoQuery}, Index: true, Keys: listKeys(kindEndpoint)}
)

// TableAccess is each function's table grants (ingest has none).
var TableAccess = map[string][]TableGrant{
	"payments": {{Actions: processorActions,
		Keys: slices.Concat(recordKeys(kindPayment, kindSubscription), archiveKeys)}},
	"inventory": {{Actions: processorActions,
		Keys: slices.Concat(recordKeys(kindInventory), []string{recordKeysUnder(kindAlias, aliasSKU)}, archiveKeys)}},
	"leads": {{Actions: processorActions,
		Keys: slices.Concat(recordKeys(kindLead), []string{recordKeysUnder(kindAlias, aliasSource)}, archiveKeys)}},
	"relay": {{Actions: processorActions,
		Keys: slices.Concat(recordKeys(kindChat), archiveKeys)}},
	// The fan-out only lists the endpoints (notify.CachedEndpoints).
	"fanout": {listEndpoints},
	// The deliverer lists the endpoints (cached), disables one on 410 Gone
	// (Get + Put of its record) and logs each attempt (Get + Put of the
	// delivered marker or the attempt record). No UpdateItem: none of these
	// records has an outbox to clear.
	"deliverer": {listEndpoints, {Actions: []string{DynamoGetItem, DynamoPutItem},
		Keys: recordKeys(kindEndpoint, kindDelivered, kindAttempt)}},
}

// OperatorTableAccess is what the CLI does in the table: `hookstack
// endpoints` lists, gets and puts endpoints (cmd/hookstack/endpoints.go,
// notifystore.Endpoints), `hookstack replay` reads the archive
// (cmd/hookstack/replay.go, process.FindArchived).
var OperatorTableAccess = []TableGrant{
	listEndpoints,
	{Actions: []string{DynamoGetItem, DynamoPutItem}, Keys: recordKeys(kindEndpoint)},
	{Actions: []string{DynamoGetItem}, Keys: recordKeys(kindArchive, kindArchiveEvent)},
}

// tableStatements are grants as IAM statements on table (or its gsi1).
func tableStatements(table awsdynamodb.ITable, grants []TableGrant) []awsiam.PolicyStatement {
	out := make([]awsiam.PolicyStatement, 0, len(grants))
	for _, g := range grants {
		resource := *table.TableArn()
		if g.Index {
			resource += "/index/" + TableGSI
		}
		keys := make([]any, len(g.Keys))
		for i, k := range g.Keys {
			keys[i] = k
		}
		out = append(out, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings(g.Actions...),
			Resources: jsii.Strings(resource),
			Conditions: &map[string]any{
				LeadingKeysOperator: map[string]any{LeadingKeysKey: keys},
				LeadingKeysPresent:  map[string]any{LeadingKeysKey: "false"},
			},
		}))
	}
	return out
}

// grantTable gives fn its TableAccess.
func grantTable(fn awslambda.Function, table awsdynamodb.ITable, name string) {
	for _, st := range tableStatements(table, TableAccess[name]) {
		fn.AddToRolePolicy(st)
	}
}

// ClaimReaders are the functions that read claim-check bodies: the
// processors (process.FromEnv: awsbackend.Blobs) and the deliverer (raw
// forwards whose body was claim-checked).
var ClaimReaders = append(slices.Clone(Processors), "deliverer")

// grantClaimReads lets fn read claim-check bodies: s3:GetObject on
// bodies/*, and s3:ListBucket on the bucket, so that a missing body is a 404
// NoSuchKey (which the code dead-letters with a reason) rather than a 403
// AccessDenied (which it retries): S3 answers 403 for a missing key to a
// caller that may not list the bucket. The grant has no s3:prefix
// condition: a GetObject request carries no prefix, so such a condition
// would not count for it. The bucket holds nothing but bodies/.
func grantClaimReads(fn awslambda.Function, bucket awss3.IBucket) {
	grantClaimBodies(fn, bucket, "s3:GetObject")
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:ListBucket"),
		Resources: jsii.Strings(*bucket.BucketArn()),
	}))
}
