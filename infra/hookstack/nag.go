package hookstack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Suppressions next to a single resource live with that resource
// (storage.go, secrets.go, ingest.go, monitoring.go); the wildcard-resource
// findings that follow from grants are here.

// grantClaimBodies lets fn read (or, for ingest, put) claim-check bodies:
// exactly one action on the bodies/ prefix, instead of Bucket.GrantRead's
// s3:GetObject*, s3:GetBucket* and s3:List* or GrantPut's extra object-lock
// and tagging actions.
func grantClaimBodies(fn awslambda.Function, bucket awss3.IBucket, action string) {
	awsiam.Grant_AddToPrincipal(&awsiam.GrantOnPrincipalOptions{
		Grantee:      fn,
		Actions:      jsii.Strings(action),
		ResourceArns: jsii.Strings(*bucket.ArnForObjects(jsii.String(ClaimBodyPrefix + "*"))),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(fn.Role(), &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Claim-check objects have generated keys under bodies/, so the object ARN needs a " +
			"wildcard after the prefix; the action is the single " + action + "."),
		AppliesTo: &[]any{"Resource::<" + logicalID(bucket) + ".Arn>/" + ClaimBodyPrefix + "*"},
	}}, jsii.Bool(true))
}

// logicalID is the CloudFormation logical id of a construct's default child.
func logicalID(c constructs.IConstruct) string {
	el := c.Node().DefaultChild().(awscdk.CfnElement)
	return *awscdk.Stack_Of(el).GetLogicalId(el)
}
