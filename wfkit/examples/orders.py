"""The order-processing saga: validate → charge → allocate inventory (on failure: refund, as compensation) →
ship → confirm. A ``cancel_order`` signal stops it (refunding when already charged); a ``status`` query tells
where it is. ``InvalidOrder`` is non-retryable. The same code runs on Temporal and on Cadence.

Run it::

    async with client.worker(task_queue=TASK_QUEUE, workflows=WORKFLOWS, activities=ACTIVITIES):
        result = await (await client.start(OrderWorkflow, Order("o-1", "ada", [Item("book", 2)], 30.0),
                                           task_queue=TASK_QUEUE)).result()
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import wfkit

TASK_QUEUE = "orders"
OUT_OF_STOCK = "out-of-stock"
"""An item with this SKU cannot be allocated: the saga compensates by refunding."""


@dataclasses.dataclass
class Item:
    sku: str
    quantity: int = 1


@dataclasses.dataclass
class Order:
    order_id: str
    customer: str
    items: list[Item]
    amount: float
    review_seconds: float = 0
    """A window after validation in which ``cancel_order`` stops the order before any charge."""


@dataclasses.dataclass
class Payment:
    payment_id: str
    amount: float


@dataclasses.dataclass
class OrderResult:
    order_id: str
    status: str
    """confirmed, compensated (charged, allocation failed, refunded) or cancelled."""
    payment_id: str | None = None
    shipment_id: str | None = None
    refunded: bool = False
    steps: list[str] = dataclasses.field(default_factory=list)


class InvalidOrder(wfkit.ApplicationError):
    """An order that can never succeed: not retried."""

    def __init__(self, message: str):
        super().__init__(message, type="InvalidOrder", non_retryable=True)


@wfkit.activity
async def validate_order(order: Order) -> None:
    if not order.items:
        raise InvalidOrder(f"order {order.order_id} has no items")
    if order.amount <= 0:
        raise InvalidOrder(f"order {order.order_id} has a non-positive amount {order.amount}")


@wfkit.activity
async def charge_payment(order: Order) -> Payment:
    return Payment(payment_id=f"pay-{order.order_id}", amount=order.amount)


@wfkit.activity
async def allocate_inventory(order: Order) -> None:
    missing = [i.sku for i in order.items if i.sku == OUT_OF_STOCK]
    if missing:
        raise wfkit.ApplicationError(f"out of stock: {', '.join(missing)}", missing, type="OutOfStock",
                                     non_retryable=True)


@wfkit.activity
async def refund_payment(payment: Payment) -> None:
    return None


@wfkit.activity
async def ship_order(order: Order) -> str:
    return f"ship-{order.order_id}"


@wfkit.activity
async def confirm_order(order: Order) -> None:
    return None


ACTIVITY_OPTIONS: dict[str, Any] = dict(start_to_close_timeout=timedelta(seconds=30),
                        retry_policy=wfkit.RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3,
                                                       non_retryable_error_types=["InvalidOrder"]))


@wfkit.workflow
class OrderWorkflow:
    def __init__(self) -> None:
        self._status = "received"
        self._cancel_reason: str | None = None
        self._order: Order | None = None

    @wfkit.run
    async def run(self, order: Order) -> OrderResult:
        self._order = order
        result = OrderResult(order_id=order.order_id, status="running")
        self._status = "validating"
        await wfkit.execute_activity(validate_order, order, **ACTIVITY_OPTIONS)
        result.steps.append("validated")
        if order.review_seconds:
            self._status = "in review"
            try:
                await wfkit.wait_condition(lambda: self._cancel_reason is not None,
                                           timeout=timedelta(seconds=order.review_seconds))
            except wfkit.TimeoutError:
                pass
        if self._cancel_reason is not None:
            result.status = "cancelled"
            result.steps.append(f"cancelled: {self._cancel_reason}")
            self._status = "cancelled"
            return result
        self._status = "charging"
        payment = await wfkit.execute_activity(charge_payment, order, **ACTIVITY_OPTIONS)
        result.payment_id = payment.payment_id
        result.steps.append("charged")
        self._status = "allocating"
        try:
            await wfkit.execute_activity(allocate_inventory, order, **ACTIVITY_OPTIONS)
        except wfkit.ActivityError:
            self._status = "compensating"
            await wfkit.execute_activity(refund_payment, payment, **ACTIVITY_OPTIONS)
            result.refunded = True
            result.status = "compensated"
            result.steps.append("refunded")
            self._status = "compensated"
            return result
        result.steps.append("allocated")
        self._status = "shipping"
        result.shipment_id = await wfkit.execute_activity(ship_order, order, **ACTIVITY_OPTIONS)
        result.steps.append("shipped")
        await wfkit.execute_activity(confirm_order, order, **ACTIVITY_OPTIONS)
        result.steps.append("confirmed")
        result.status = "confirmed"
        self._status = "confirmed"
        return result

    @wfkit.signal
    def cancel_order(self, reason: str) -> None:
        self._cancel_reason = reason or "cancelled"

    @wfkit.query
    def status(self) -> str:
        return self._status

    @wfkit.migration_state
    def state(self) -> Order | None:
        return self._order


WORKFLOWS = [OrderWorkflow]
ACTIVITIES = [validate_order, charge_payment, allocate_inventory, refund_payment, ship_order, confirm_order]
