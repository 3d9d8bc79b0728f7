package process

import "context"

// The batch deadline (shared/batchdeadline): Handle runs its batch on
// batchdeadline.Start's context and reports every message not finished by
// then as a failure, received again and never dead-lettered for that
// reason.

// cutByDeadline reports whether err, a failure of work run under ctx, is
// the batch deadline's doing: ctx has ended and err is not permanent.
func cutByDeadline(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && !IsPermanent(err)
}
