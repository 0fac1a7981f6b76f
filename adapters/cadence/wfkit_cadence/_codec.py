"""The payload codec on Cadence: a gRPC interceptor on the client's channel, so every call, the client's and
its workers', goes through it.

Cadence payloads have no metadata, so a codec-encoded payload is wfkit's envelope (see
``wfkit.codecs._apply``): ``{"wfkit-codec":1,"payloads":[...]}``, one ``json/plain`` payload per argument
inside, encoded by the codec. Requests that carry workflow data are encoded before they leave; responses that
carry it are decoded when they arrive. A payload that cannot be decoded stays an envelope with the reason in it,
and reading its values raises a ``CodecError`` naming the reason (``_convert.decode_values``), so a worker or
client never goes on with values it could not read. Memo, headers and search attributes are never encoded
(the server and wfkit's listing read them); neither are failure details (wfkit's failure documents).

A history the client fetches for wfkit (``CadenceClient.history``) is fetched under :data:`RAW_HISTORY` and left
encoded here: wfkit decodes a fetched history once, whole (so a codec server that does not answer costs one
timeout per history, not one per page and another for the retry).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from grpc.aio import ClientCallDetails, UnaryUnaryClientInterceptor

from wfkit.engine import PayloadCodec, decode_messages, encode_messages

ENCODED_REQUESTS = frozenset({
    "StartWorkflowExecution", "SignalWorkflowExecution", "SignalWithStartWorkflowExecution", "QueryWorkflow",
    "RespondDecisionTaskCompleted", "RespondQueryTaskCompleted", "RespondActivityTaskCompleted",
    "RespondActivityTaskCompletedByID", "RecordActivityTaskHeartbeat", "RecordActivityTaskHeartbeatByID",
    "RespondActivityTaskFailed", "RespondActivityTaskFailedByID", "RespondActivityTaskCanceled",
    "RespondActivityTaskCanceledByID",
})
"""The calls whose request payloads are encoded."""
DECODED_RESPONSES = frozenset({
    "PollForDecisionTask", "PollForActivityTask", "GetWorkflowExecutionHistory", "QueryWorkflow",
    "DescribeWorkflowExecution",
})
"""The calls whose response payloads are decoded."""
RAW_HISTORY: ContextVar[bool] = ContextVar("wfkit_cadence_raw_history", default=False)
"""Set while fetching a history that its caller decodes itself: ``GetWorkflowExecutionHistory`` is not decoded."""


def _method_name(method: Any) -> str:
    text = method.decode() if isinstance(method, (bytes, bytearray)) else str(method)
    return text.rsplit("/", 1)[-1]


class CodecInterceptor(UnaryUnaryClientInterceptor):
    """Encodes the workflow data of requests and decodes that of responses with a wfkit payload codec."""

    def __init__(self, codec: PayloadCodec):
        self.codec = codec

    async def intercept_unary_unary(self, continuation: Any, details: ClientCallDetails, request: Any) -> Any:
        name = _method_name(details.method)
        if name in ENCODED_REQUESTS:
            await encode_messages([request], self.codec)
        call = await continuation(details, request)
        if name in DECODED_RESPONSES and not (name == "GetWorkflowExecutionHistory" and RAW_HISTORY.get()):
            try:
                response = await call
            except Exception:  # noqa: BLE001 - the caller awaits the call and gets the error as it is
                return call
            await decode_messages([response], self.codec, tolerant=True)
        return call
