package process

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hookstack/hookstack/shared/domain"
	"github.com/hookstack/hookstack/shared/envelope"
	"github.com/hookstack/hookstack/shared/inventory"
	"github.com/hookstack/hookstack/shared/leads"
	"github.com/hookstack/hookstack/shared/payments"
	"github.com/hookstack/hookstack/shared/relay"
	"github.com/hookstack/hookstack/shared/store"
)

// Processor names: each is the name of the queue it consumes and the
// Processor dimension of its metrics.
const (
	Payments  = envelope.QueuePayments
	Inventory = envelope.QueueInventory
	Leads     = envelope.QueueLeads
	Relay     = envelope.QueueRelay
)

// Names lists the processors.
var Names = []string{Payments, Inventory, Leads, Relay}

// Config is the processors' configuration (ConfigFromEnv).
type Config struct {
	Inventory inventory.Config
	Relay     relay.Config
	// MaxReceives is the processor queue's maxReceiveCount
	// (HOOKSTACK_MAX_RECEIVE_COUNT): a message still failing transiently
	// on that receive is dead-lettered by the handler with the error as its
	// reason (SQS's own redrive, one receive later, would carry none). 0
	// leaves it to the queue.
	MaxReceives int
}

// processFunc handles one envelope (its body fetched) with w.
type processFunc func(ctx context.Context, w *Writer, env envelope.Envelope) error

// New returns the handler of the named processor (Payments, Inventory,
// Leads or Relay).
func New(name string, deps Deps, cfg Config) (*Handler, error) {
	var h *Handler
	switch name {
	case Payments:
		h = NewPayments(deps)
	case Inventory:
		h = NewInventory(deps, cfg.Inventory)
	case Leads:
		h = NewLeads(deps)
	case Relay:
		h = NewRelay(deps, cfg.Relay)
	default:
		return nil, fmt.Errorf("unknown processor %q (want one of %v)", name, Names)
	}
	h.maxReceives = cfg.MaxReceives
	return h, nil
}

// NewPayments returns the payments processor: Stripe events update the
// payment (by PaymentIntent id) and the subscription (by customer).
func NewPayments(deps Deps) *Handler { return newHandler(Payments, deps, processPayments) }

// NewInventory returns the inventory processor.
func NewInventory(deps Deps, cfg inventory.Config) *Handler {
	return newHandler(Inventory, deps, func(ctx context.Context, w *Writer, env envelope.Envelope) error {
		return processInventory(ctx, w, env, cfg)
	})
}

// NewLeads returns the leads processor.
func NewLeads(deps Deps) *Handler { return newHandler(Leads, deps, processLeads) }

// NewRelay returns the relay processor.
func NewRelay(deps Deps, cfg relay.Config) *Handler {
	return newHandler(Relay, deps, func(ctx context.Context, w *Writer, env envelope.Envelope) error {
		return processRelay(ctx, w, env, cfg)
	})
}

func processPayments(ctx context.Context, w *Writer, env envelope.Envelope) error {
	ev, err := payments.FromEnvelope(env)
	if err != nil {
		return err
	}
	if ev.Handled && ev.PaymentIntent != "" {
		if _, err := UpdateAs(ctx, w, KindPayment, ev.PaymentIntent, func(old *payments.Payment) (payments.Payment, bool, []domain.Event, error) {
			return payments.ApplyPayment(old, ev)
		}, func(p payments.Payment) time.Time { return p.UpdatedAt }); err != nil {
			return err
		}
	}
	if ev.Handled && ev.Customer != "" {
		if _, err := UpdateAs(ctx, w, KindSubscription, ev.Customer, func(old *payments.Subscription) (payments.Subscription, bool, []domain.Event, error) {
			return payments.ApplySubscription(old, ev)
		}, func(s payments.Subscription) time.Time { return s.UpdatedAt }); err != nil {
			return err
		}
	}
	return w.emit(ctx, env.BodyRef, payments.Forward(ev))
}

func itemUpdatedAt(it inventory.Item) time.Time { return it.UpdatedAt }

func inventoryMerged(err error) (string, bool) {
	var me *inventory.MergedError
	if errors.As(err, &me) {
		return me.Into, true
	}
	return "", false
}

// processInventory follows the sequence the pure package documents: apply
// the event to each record it concerns (resolving a sku through the alias
// index, following tombstones), then for a products/update record each
// variant's sku → item mapping and merge the record kept under "sku:<sku>"
// into the item's.
func processInventory(ctx context.Context, w *Writer, env envelope.Envelope, cfg inventory.Config) error {
	ev, err := inventory.FromEnvelope(env)
	if err != nil {
		return err
	}
	if ev.Handled {
		var resolveErr error
		keys := ev.Keys(func(sku string) (string, bool) {
			into, ok, err := w.Alias(ctx, AliasSKU+sku)
			if err != nil {
				resolveErr = err
			}
			return into, ok
		})
		if resolveErr != nil {
			return resolveErr
		}
		for _, key := range keys {
			err := redirect(key, func(key string) error {
				_, err := UpdateAs(ctx, w, KindInventory, key, func(old *inventory.Item) (inventory.Item, bool, []domain.Event, error) {
					return inventory.Apply(old, key, ev, cfg)
				}, itemUpdatedAt)
				return err
			}, inventoryMerged)
			if err != nil {
				return err
			}
			// Written under "sku:<sku>" because the sku was not mapped
			// when resolved: a products/update may have mapped it (and
			// merged) in between. Each side writes, then reads the
			// other's write, so one of them merges.
			if skuKey := inventory.SKUKeyPrefix + ev.SKU; ev.Kind == inventory.KindAdjusted && key == skuKey {
				into, ok, err := w.Alias(ctx, AliasSKU+ev.SKU)
				if err != nil {
					return err
				}
				if ok {
					if err := mergeSKU(ctx, w, ev.SKU, into, ev, cfg); err != nil {
						return err
					}
				}
			}
		}
		for _, v := range ev.Variants {
			if v.SKU == "" || v.ItemID == "" {
				continue
			}
			into, err := w.SetAlias(ctx, AliasSKU+v.SKU, v.ItemID, domain.Version{At: ev.UpdatedAt, EventID: ev.ID})
			if err != nil {
				return err
			}
			if err := mergeSKU(ctx, w, v.SKU, into, ev, cfg); err != nil {
				return err
			}
		}
	}
	return w.emit(ctx, env.BodyRef, inventory.Forward(ev))
}

// mergeSKU merges the record kept under "sku:<sku>" into the item's record.
func mergeSKU(ctx context.Context, w *Writer, sku, into string, ev inventory.Event, cfg inventory.Config) error {
	return mergeAlias(ctx, w, KindInventory, inventory.SKUKeyPrefix+sku, into,
		func(old *inventory.Item, alias inventory.Item) (inventory.Item, bool, []domain.Event) {
			return inventory.Merge(old, into, alias, ev, cfg)
		},
		func(it inventory.Item) inventory.Item { return inventory.Tombstone(it, into) },
		func(it inventory.Item) bool { return it.MergedInto != "" },
		itemUpdatedAt)
}

// mergeSource merges the lead kept under its source key into the email's.
func mergeSource(ctx context.Context, w *Writer, src, into string, ev leads.Event) error {
	return mergeAlias(ctx, w, KindLead, src, into,
		func(old *leads.Lead, alias leads.Lead) (leads.Lead, bool, []domain.Event) {
			return leads.Merge(old, into, alias, ev)
		},
		func(l leads.Lead) leads.Lead { return leads.Tombstone(l, into) },
		func(l leads.Lead) bool { return l.MergedInto != "" },
		leadUpdatedAt)
}

func leadUpdatedAt(l leads.Lead) time.Time { return l.UpdatedAt }

func leadMerged(err error) (string, bool) {
	var me *leads.MergedError
	if errors.As(err, &me) {
		return me.Into, true
	}
	return "", false
}

// processLeads: an event that links a source object to an email records
// the link in the alias index and merges the source-keyed record into the
// email's first; then the event is applied to its lead (by email, else by
// the linked email, else by source key), following tombstones.
func processLeads(ctx context.Context, w *Writer, env envelope.Envelope) error {
	ev, err := leads.FromEnvelope(env)
	if err != nil {
		return err
	}
	if src, email, ok := ev.Link(); ok {
		into, err := w.SetAlias(ctx, AliasSource+src, email, domain.Version{At: ev.At, EventID: ev.ID})
		if err != nil {
			return err
		}
		if err := mergeSource(ctx, w, src, into, ev); err != nil {
			return err
		}
	}
	if ev.Handled {
		var resolveErr error
		key := ev.Key(func(src string) (string, bool) {
			into, ok, err := w.Alias(ctx, AliasSource+src)
			if err != nil {
				resolveErr = err
			}
			return into, ok
		})
		if resolveErr != nil {
			return resolveErr
		}
		if key != "" {
			err := redirect(key, func(key string) error {
				_, err := UpdateAs(ctx, w, KindLead, key, func(old *leads.Lead) (leads.Lead, bool, []domain.Event, error) {
					return leads.Apply(old, key, ev)
				}, leadUpdatedAt)
				return err
			}, leadMerged)
			if err != nil {
				return err
			}
			// Written under the source key because no email was linked
			// when resolved: a linking event may have come in between
			// (see the same case in processInventory).
			if key == ev.SourceKey {
				into, ok, err := w.Alias(ctx, AliasSource+ev.SourceKey)
				if err != nil {
					return err
				}
				if ok {
					if err := mergeSource(ctx, w, ev.SourceKey, into, ev); err != nil {
						return err
					}
				}
			}
		}
	}
	return w.emit(ctx, env.BodyRef, leads.Forward(ev))
}

// processRelay keeps LiveChat chats, emits task.completed for Trello cards
// moved into a done list, and forwards everything raw.
func processRelay(ctx context.Context, w *Writer, env envelope.Envelope, cfg relay.Config) error {
	ev, err := relay.Parse(env)
	if err != nil {
		return err
	}
	if ev.Handled && ev.ChatID != "" {
		if _, err := UpdateAs(ctx, w, KindChat, ev.ChatID, func(old *relay.Chat) (relay.Chat, bool, []domain.Event, error) {
			return relay.ApplyChat(old, ev)
		}, func(c relay.Chat) time.Time { return c.UpdatedAt }); err != nil {
			return err
		}
	}
	if err := w.Emit(ctx, relay.Tasks(ev, cfg)...); err != nil {
		return err
	}
	return w.emit(ctx, env.BodyRef, relay.Forward(ev))
}

// SetLowThreshold sets (threshold non-nil) or clears the per-item low-stock
// threshold of an inventory item (operator configuration; it overrides
// HOOKSTACK_LOW_STOCK). It takes effect from the item's next stock change:
// the item's level is not re-evaluated, so no event is emitted now.
func SetLowThreshold(ctx context.Context, s store.Store, itemID string, threshold *int64) error {
	if threshold != nil && *threshold < 0 {
		return fmt.Errorf("low-stock threshold of %s: %d is negative: %w", itemID, *threshold, store.ErrInvalid)
	}
	_, _, err := store.Update(ctx, s, KindInventory, itemID, func(r *store.Record) (bool, error) {
		it := inventory.Item{ItemID: itemID}
		if r.Rev != 0 {
			if err := r.Decode(&it); err != nil {
				return false, err
			}
		}
		if it.MergedInto != "" {
			return false, fmt.Errorf("inventory %s was merged into %s: %w", itemID, it.MergedInto, store.ErrInvalid)
		}
		if (it.LowThreshold == nil) == (threshold == nil) && (threshold == nil || *it.LowThreshold == *threshold) {
			return false, nil
		}
		it.LowThreshold = threshold
		if err := r.Encode(it); err != nil {
			return false, err
		}
		r.UpdatedAt = it.UpdatedAt
		return true, nil
	})
	return err
}
