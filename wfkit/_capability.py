"""What an engine may support: the ``Capability`` enum (re-exported by :mod:`wfkit.engine` and :mod:`wfkit`).

A module of its own, below everything else, so that the plugin registry can check declarations without importing
the whole plugin contract.
"""

from __future__ import annotations

import enum


class Capability(enum.StrEnum):
    """What an engine may support. An engine declares its set once, as ``Engine.capabilities``; a client may add
    to it per connection (``advanced_visibility`` depends on the server's visibility store)."""

    QUERY = "query"
    """Workflow queries (``handle.query``)."""
    TERMINATE = "terminate"
    """Terminating a workflow (``handle.terminate``)."""
    COUNT = "count"
    """Counting executions that match a list query (``client.count``)."""
    MEMO = "memo"
    """A memo (and wfkit's tags, kept in it) stored with an execution at start."""
    SIDE_EFFECT = "side_effect"
    """``wfkit.side_effect``: a value recorded once and replayed."""
    CONTINUE_AS_NEW = "continue_as_new"
    """``wfkit.continue_as_new``: a new run of the same workflow ID with fresh history."""
    CHILD_WORKFLOWS = "child_workflows"
    """``wfkit.execute_child_workflow``."""
    REPLAY = "replay"
    """Replaying recorded histories through current workflow code (``wfkit.replay``)."""
    SUBSECOND_TIMERS = "subsecond_timers"
    """Timers and timeouts finer than a second (Cadence rounds every duration up to whole seconds)."""
    SIGNAL_WITH_START = "signal_with_start"
    """Signal a workflow, starting it first when it is not running, in one call (``client.signal_with_start``)."""
    SEARCH_ATTRIBUTES = "search_attributes"
    """Search attributes set at start and shown by list and describe (Cadence: advanced visibility only)."""
    UPDATE = "update"
    """Workflow updates: ``handle.update`` calls an ``@wfkit.update`` handler and waits for its result."""
    SCHEDULES = "schedules"
    """Server-side schedules (``client.create_schedule`` and friends); on engines without them, cron on start."""
    RESET = "reset"
    """Resetting a run to the end of one of its workflow tasks (``handle.reset``), signals after it reapplied."""
    TIME_SKIPPING = "time_skipping"
    """A clock that jumps to the next timer whenever every workflow waits on one and no activity runs: the
    engine's URL takes ``time=skip`` (``local://?time=skip``), and its client's optional ``sleep(seconds)``
    advances the clock at once (``client.sleep``/``client.skip``)."""
    IN_PROCESS = "in_process"
    """The engine runs inside the client's process (``local://``): no server to reach, so no network errors to
    tell apart; a URL naming a host or port, or TLS, is a ``ConnectionFailed`` saying so."""
    ADVANCED_VISIBILITY = "advanced_visibility"
    """The server itself evaluates the full list-query language; without it wfkit evaluates a query client-side
    over at most ``max_scan`` executions."""
    CLIENT_PROFILES = "client_profiles"
    """The engine has client configuration profiles of its own (Temporal: ``temporal.toml``, shared with its CLI and
    SDKs): ``wfkit.connect(url, profile=NAME)`` and ``%wf connect --profile NAME`` read one."""
    PAYLOAD_CODEC = "payload_codec"
    """A payload codec (``wfkit.connect(url, codec=...)``, ``wfkit.codecs``) runs in the engine's client and
    workers: inputs, results, signals, queries and activity data are encoded on the wire and in histories."""
