"""Named failures of the contracts domain."""

from __future__ import annotations

from kakin.kit.errors import Conflict, NotFound


class ContractNotFound(NotFound):
    slug = "contract-not-found"
    title = "No such contract"


class SubscriptionNotFound(NotFound):
    slug = "subscription-not-found"
    title = "No such subscription"


class DiscountNotFound(NotFound):
    slug = "discount-not-found"
    title = "No such discount"


class ContractNotActive(Conflict):
    slug = "contract-not-active"
    title = "The contract is cancelled"


class ContractHasSubscriptionsBeyondEnd(Conflict):
    slug = "contract-has-subscriptions-beyond-end"
    title = "Some subscriptions of the contract run past the requested end date"


class ContractHasSubscriptionsBeforeStart(Conflict):
    slug = "contract-has-subscriptions-before-start"
    title = "Some subscriptions of the contract start before the requested start date"


class ContractInUse(Conflict):
    slug = "contract-in-use"
    title = "The contract still has subscriptions or discounts"


class ExternalRefTaken(Conflict):
    slug = "external-ref-taken"
    title = "Another subscription already has this external reference"


class SubscriptionNotActive(Conflict):
    slug = "subscription-not-active"
    title = "The subscription is not active on that date"


class SubscriptionNotSuspended(Conflict):
    slug = "subscription-not-suspended"
    title = "The subscription is not suspended on that date"


class SubscriptionAlreadyCancelled(Conflict):
    slug = "subscription-already-cancelled"
    title = "The subscription is already cancelled"


class EventAfterEnd(Conflict):
    slug = "event-after-end"
    title = "The effective date is after the subscription ends"


class DuplicateEvent(Conflict):
    slug = "duplicate-event"
    title = "An event of this kind is already effective on that date"


class PeriodClosed(Conflict):
    slug = "period-closed"
    title = "The billing period containing that date is already closed"
