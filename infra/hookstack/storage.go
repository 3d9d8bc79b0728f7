package hookstack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Table key schema (HELPERS.md contract).
const (
	TablePartitionKey = "pk"
	TableSortKey      = "sk"
	TableGSI          = "gsi1"
	TableGSIPartition = "gsi1pk"
	TableGSISort      = "gsi1sk"
	TableTTLAttribute = "expires_at"
)

// ClaimBodyPrefix is where ingest puts bodies too large for an SQS message.
const ClaimBodyPrefix = "bodies/"

// ClaimExpirationDays is how long claim-check bodies live: longer than the
// longest a message that refers to one can wait: a raw forward's body is
// read by the deliverer, after the notifications queue (4 days), the
// deliveries queue (7) and a DLQ (14), 25 days in all; an envelope's by its
// processor after its queue (4) and DLQ (14). A redriven message still
// finds its body (TestRetentionsNest checks the sum).
const ClaimExpirationDays = 30

// StorageProps configure NewStorage.
type StorageProps struct {
	// Removal is RemovalRetain (default) or RemovalDestroy.
	Removal string
	// Capacity is CapacityOnDemand (default, "") or CapacityProvisioned,
	// which scales the table and its index between 1 and MaxWrite / MaxRead
	// units at 70% target utilisation.
	Capacity string
	MaxWrite float64
	MaxRead  float64
}

// ProvisionedTargetUtilization is the auto-scaling target of a provisioned
// table (and the cost model's provisionedUtilisation).
const ProvisionedTargetUtilization = 70

// Storage is the single DynamoDB table and the claim-check bucket.
type Storage struct {
	constructs.Construct
	Table  awsdynamodb.Table
	Bucket awss3.Bucket
}

// NewStorage creates the table (on-demand or provisioned with auto
// scaling, PITR, TTL, deletion protection when retained) and the claim-check bucket (private, encrypted, TLS-only,
// expiring).
func NewStorage(scope constructs.Construct, id *string, props *StorageProps) *Storage {
	this := constructs.NewConstruct(scope, id)
	retain := props.Removal != RemovalDestroy
	provisioned := props.Capacity == CapacityProvisioned
	billing := awsdynamodb.BillingMode_PAY_PER_REQUEST
	var initial *float64 // capacity units before auto scaling adjusts them
	if provisioned {
		billing, initial = awsdynamodb.BillingMode_PROVISIONED, jsii.Number(1)
	}

	table := awsdynamodb.NewTable(this, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey:  &awsdynamodb.Attribute{Name: jsii.String(TablePartitionKey), Type: awsdynamodb.AttributeType_STRING},
		SortKey:       &awsdynamodb.Attribute{Name: jsii.String(TableSortKey), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:   billing,
		ReadCapacity:  initial,
		WriteCapacity: initial,
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		TimeToLiveAttribute: jsii.String(TableTTLAttribute),
		Encryption:          awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection:  jsii.Bool(retain),
		RemovalPolicy:       removalPolicy(props.Removal),
	})
	table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
		IndexName:      jsii.String(TableGSI),
		PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(TableGSIPartition), Type: awsdynamodb.AttributeType_STRING},
		SortKey:        &awsdynamodb.Attribute{Name: jsii.String(TableGSISort), Type: awsdynamodb.AttributeType_STRING},
		ProjectionType: awsdynamodb.ProjectionType_ALL,
		ReadCapacity:   initial,
		WriteCapacity:  initial,
	})
	if provisioned {
		scale := func(a awsdynamodb.IScalableTableAttribute) {
			a.ScaleOnUtilization(&awsdynamodb.UtilizationScalingProps{
				TargetUtilizationPercent: jsii.Number(ProvisionedTargetUtilization),
			})
		}
		scale(table.AutoScaleWriteCapacity(&awsdynamodb.EnableScalingProps{
			MinCapacity: jsii.Number(1), MaxCapacity: jsii.Number(props.MaxWrite)}))
		scale(table.AutoScaleReadCapacity(&awsdynamodb.EnableScalingProps{
			MinCapacity: jsii.Number(1), MaxCapacity: jsii.Number(props.MaxRead)}))
		scale(table.AutoScaleGlobalSecondaryIndexWriteCapacity(jsii.String(TableGSI), &awsdynamodb.EnableScalingProps{
			MinCapacity: jsii.Number(1), MaxCapacity: jsii.Number(props.MaxWrite)}))
		scale(table.AutoScaleGlobalSecondaryIndexReadCapacity(jsii.String(TableGSI), &awsdynamodb.EnableScalingProps{
			MinCapacity: jsii.Number(1), MaxCapacity: jsii.Number(props.MaxRead)}))
	}

	bucket := awss3.NewBucket(this, jsii.String("ClaimBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-claim-bodies"),
			Expiration:                          awscdk.Duration_Days(jsii.Number(ClaimExpirationDays)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
		RemovalPolicy:     removalPolicy(props.Removal),
		AutoDeleteObjects: jsii.Bool(!retain),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(bucket, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("The claim-check bucket holds transient webhook bodies that only the stack's Lambda roles " +
			"read and write, and expire after 30 days; S3 server access logs would need another bucket " +
			"(itself unlogged) for no added audit value. Enable CloudTrail S3 data events if an audit trail is required."),
	}}, jsii.Bool(false))

	return &Storage{Construct: this, Table: table, Bucket: bucket}
}
