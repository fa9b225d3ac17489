"""Named failures of the customers domain."""

from __future__ import annotations

from collections.abc import Sequence

from kakin.kit.errors import Conflict, NotFound


class CustomerNotFound(NotFound):
    slug = "customer-not-found"
    title = "No such customer"

    def __init__(self, customer_id: str) -> None:
        super().__init__(f"there is no customer {customer_id}", customer_id=customer_id)


class CustomerDeleted(Conflict):
    slug = "customer-deleted"
    title = "The customer has been deleted"

    def __init__(self, customer_id: str) -> None:
        super().__init__(
            f"customer {customer_id} has been deleted and cannot be changed",
            customer_id=customer_id,
        )


class CustomerHasActiveContracts(Conflict):
    """Seed 004 (退会): a customer who still uses a service cannot withdraw."""

    slug = "customer-has-active-contracts"
    title = "The customer has active contracts"

    def __init__(self, customer_id: str, contract_ids: Sequence[str]) -> None:
        super().__init__(
            f"customer {customer_id} has {len(contract_ids)} active contract(s); "
            "end them before deleting the customer",
            customer_id=customer_id,
            contract_ids=list(contract_ids),
        )


class GroupNotFound(NotFound):
    slug = "group-not-found"
    title = "No such group"

    def __init__(self, group_id: str) -> None:
        super().__init__(f"there is no group {group_id}", group_id=group_id)


class GroupMemberNotFound(NotFound):
    slug = "group-member-not-found"
    title = "The customer is not a member of the group"

    def __init__(self, group_id: str, customer_id: str) -> None:
        super().__init__(
            f"customer {customer_id} is not a member of group {group_id}",
            group_id=group_id,
            customer_id=customer_id,
        )
