"""Workflows the migration tests move between engines (besides the order saga of ``wfkit.examples.orders``)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import wfkit


@dataclasses.dataclass
class CartState:
    customer: str
    items: list[str] = dataclasses.field(default_factory=list)


@wfkit.activity
async def price(items: list[str]) -> int:
    return 10 * len(items)


@wfkit.workflow
class Cart:
    """Collects ``add`` signals until ``checkout``; its migration state is the cart so far."""

    def __init__(self) -> None:
        self.state: CartState | None = None
        self.early: list[str] = []  # signals can be delivered before run() starts (Temporal does)
        self.checked_out = False

    @wfkit.run
    async def run(self, state: CartState) -> dict:
        self.state = state
        self.state.items += self.early
        await wfkit.wait_condition(lambda: self.checked_out)
        total = await wfkit.execute_activity(price, self.state.items, start_to_close_timeout=timedelta(seconds=10))
        return {"customer": self.state.customer, "items": self.state.items, "total": total}

    @wfkit.signal
    def add(self, item: str) -> None:
        (self.state.items if self.state is not None else self.early).append(item)

    @wfkit.signal
    def checkout(self) -> None:
        self.checked_out = True

    @wfkit.query
    def items(self) -> list[str]:
        return list(self.state.items) if self.state else []

    @wfkit.migration_state
    def snapshot(self) -> CartState | None:
        return self.state


@wfkit.activity
async def stamp(label: str) -> str:
    return f"stamped {label}"


@wfkit.workflow
class Ledger:
    """No migration state: a restart must begin again from its input (and run ``stamp`` again)."""

    def __init__(self) -> None:
        self.entries: list[str] = []
        self.closed = False

    @wfkit.run
    async def run(self, label: str, opening: int) -> dict:
        first = await wfkit.execute_activity(stamp, label, start_to_close_timeout=timedelta(seconds=10))
        await wfkit.wait_condition(lambda: self.closed)
        return {"label": label, "opening": opening, "first": first, "entries": self.entries}

    @wfkit.signal
    def post(self, entry: str, amount: int) -> None:
        self.entries.append(f"{entry}:{amount}")

    @wfkit.signal
    def close(self) -> None:
        self.closed = True


WORKFLOWS = [Cart, Ledger]
ACTIVITIES = [price, stamp]
