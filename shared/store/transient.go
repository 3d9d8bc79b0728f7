package store

import (
	"context"
	"errors"
	"net"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// transientCodes are the DynamoDB error codes that mean "try again later".
var transientCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
}

// IsTransient reports whether err may go away when the same work is retried
// later, so a processor should fail the message for redelivery (and let the
// queue dead-letter it after maxReceiveCount) rather than dead-letter it now:
//   - ErrConflict (a lost optimistic-concurrency race) and ErrUnavailable;
//   - DynamoDB throttling and server errors, by the smithy APIError code:
//     ProvisionedThroughputExceededException, ThrottlingException,
//     RequestLimitExceeded, InternalServerError, ServiceUnavailable, and any
//     HTTP 5xx answer;
//   - a request that could not be sent or answered (smithy's
//     RequestSendError: connection refused or reset), network timeouts;
//   - context deadline and cancellation (the work was cut short, not wrong).
//
// Everything else (ErrInvalid, ErrTooLarge, ErrNotFound, validation errors,
// a missing table) is not transient.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && transientCodes[apiErr.ErrorCode()] {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) {
		return true
	}
	var canceled *smithy.CanceledError
	if errors.As(err, &canceled) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr)
}
