"""Cadence's conversions between JSON shapes.

* Cadence ``cadence.api.v1`` proto-JSON <-> Cadence CLI (thrift) JSON — lossless both ways for every field the
  two models share; a field only one side has is carried over under its own name, never dropped.
* Cadence CLI JSON <-> the canonical Temporal proto-JSON (cross-engine, best effort: the two engines' models
  differ, see :func:`cadence_event_to_temporal` / :func:`temporal_event_to_cadence`; wfkit JSON is the
  lossless archive).

All functions take and return plain JSON values (dicts/lists/str/int) and never import an engine SDK.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import msgspec

from wfkit.history._convert import (
    _enum_p2t,
    _enum_t2p,
    _strict_int,
    _to_int,
    _to_str_int,
    duration_to_seconds,
    ns_to_rfc3339,
    rfc3339_to_ns,
    seconds_to_duration,
)
from wfkit.history._payload import b64, decode_temporal_json
from wfkit.history._schema import attributes_key, pascal, screaming, type_from_attributes_key
from wfkit.history.dialects.cadence import ATTEMPT_BASE, ATTEMPT_EVENT_TYPES, FROM_CANONICAL, TO_CANONICAL
from wfkit.history.dialects.temporal import EVENT_TYPE_NUMBERS as TEMPORAL_EVENT_TYPE_NUMBERS

# --- Cadence proto-JSON <-> CLI JSON ------------------------------------------------------------------------------

_C_INT64 = frozenset({
    "eventId", "version", "taskId", "scheduledEventId", "startedEventId", "decisionTaskCompletedEventId",
    "initiatedEventId", "latestCancelRequestedEventId", "forkEventVersion", "firstDecisionCompletedId",
    "initiatedId", "parentInitiatedEventId", "externalInitiatedEventId"})
_C_PAYLOAD = frozenset({"input", "result", "details", "lastCompletionResult"})
_C_PAYLOAD_MAPS = {"header": "fields", "memo": "fields", "searchAttributes": "indexedFields"}
#: proto Duration key -> thrift integer-seconds key
_C_DURATIONS = {
    "executionStartToCloseTimeout": "executionStartToCloseTimeoutSeconds",
    "taskStartToCloseTimeout": "taskStartToCloseTimeoutSeconds",
    "firstDecisionTaskBackoff": "firstDecisionTaskBackoffSeconds",
    "startToCloseTimeout": "startToCloseTimeoutSeconds",
    "scheduleToCloseTimeout": "scheduleToCloseTimeoutSeconds",
    "scheduleToStartTimeout": "scheduleToStartTimeoutSeconds",
    "heartbeatTimeout": "heartbeatTimeoutSeconds",
    "startToFireTimeout": "startToFireTimeoutSeconds",
    "backoffStartInterval": "backoffStartIntervalInSeconds",
    "delayStart": "delayStartSeconds",
    "jitterStart": "jitterStartSeconds",
    "initialInterval": "initialIntervalInSeconds",
    "maximumInterval": "maximumIntervalInSeconds",
    "expirationInterval": "expirationIntervalInSeconds",
}
_C_DURATIONS_REV = {v: k for k, v in _C_DURATIONS.items()}
#: proto Timestamp key -> thrift integer-nanoseconds key
_C_TIMES = {"expirationTime": "expirationTimestamp", "firstScheduledTime": "firstScheduledTimeNano",
            "firstRunAt": "firstRunAtTimestamp", "createdTime": "createdTimeNano", "expiringTime": "expiringTimeNano"}
_C_TIMES_REV = {v: k for k, v in _C_TIMES.items()}
_C_RENAMES = {"nonRetryableErrorReasons": "nonRetriableErrorReasons"}
_C_RENAMES_REV = {v: k for k, v in _C_RENAMES.items()}
#: (attributes type, proto failure key) -> thrift (reason key, details key)
_C_FAILURES = {
    "WorkflowExecutionStarted": {"continuedFailure": ("continuedFailureReason", "continuedFailureDetails")},
    "WorkflowExecutionFailed": {"failure": ("reason", "details")},
    "DecisionTaskFailed": {"failure": ("reason", "details")},
    "ActivityTaskStarted": {"lastFailure": ("lastFailureReason", "lastFailureDetails")},
    "ActivityTaskFailed": {"failure": ("reason", "details")},
    "ActivityTaskTimedOut": {"lastFailure": ("lastFailureReason", "lastFailureDetails")},
    "WorkflowExecutionContinuedAsNew": {"failure": ("failureReason", "failureDetails")},
    "ChildWorkflowExecutionFailed": {"failure": ("reason", "details")},
}
#: proto struct key -> {proto sub-key: flattened thrift key}
_C_FLATTEN = {
    "parentExecutionInfo": {"domainName": "parentWorkflowDomain", "workflowExecution": "parentWorkflowExecution",
                            "initiatedId": "parentInitiatedEventId"},
    "externalExecutionInfo": {"workflowExecution": "externalWorkflowExecution",
                              "initiatedId": "externalInitiatedEventId"},
}
#: enum key -> (proto prefix, thrift names are PascalCase)
_C_ENUMS = {
    "kind": ("TASK_LIST_KIND_", False),
    "timeoutType": ("TIMEOUT_TYPE_", False),
    "initiator": ("CONTINUE_AS_NEW_INITIATOR_", True),
    "parentClosePolicy": ("PARENT_CLOSE_POLICY_", False),
    "workflowIdReusePolicy": ("WORKFLOW_ID_REUSE_POLICY_", True),
    "cronOverlapPolicy": ("CRON_OVERLAP_POLICY_", False),
}
_C_CAUSE_PREFIX = {
    "DecisionTaskFailed": "DECISION_TASK_FAILED_CAUSE_",
    "DecisionTaskTimedOut": "DECISION_TASK_TIMED_OUT_CAUSE_",
    "RequestCancelExternalWorkflowExecutionFailed": "CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
    "SignalExternalWorkflowExecutionFailed": "SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_",
    "StartChildWorkflowExecutionFailed": "CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_",
}


def _cp2t_value(key: str, value: Any, etype: str, top: bool) -> tuple[str, Any] | None:
    """One proto-JSON key/value -> its thrift-JSON key/value (None: drop an empty payload)."""
    if key in _C_INT64:
        return key, _to_int(value)
    if key in _C_PAYLOAD and isinstance(value, dict) and set(value) <= {"data"}:
        return (key, value["data"]) if "data" in value else (key, "")
    if key in _C_PAYLOAD_MAPS and isinstance(value, dict):
        sub = _C_PAYLOAD_MAPS[key]
        out = dict(value)
        if isinstance(value.get(sub), dict):
            out[sub] = {k: (v.get("data", "") if isinstance(v, dict) and set(v) <= {"data"} else v)
                        for k, v in value[sub].items()}
        return key, out
    if key in _C_DURATIONS:
        try:
            secs = duration_to_seconds(value)
        except ValueError:
            return key, value
        return _C_DURATIONS[key], int(secs) if secs.is_integer() else secs
    if key in _C_TIMES:
        try:
            return _C_TIMES[key], rfc3339_to_ns(value)
        except ValueError:
            return key, value
    if key in _C_RENAMES:
        return _C_RENAMES[key], value
    if key == "cause" and etype in _C_CAUSE_PREFIX:
        return key, _enum_p2t(value, _C_CAUSE_PREFIX[etype], False)
    if key in _C_ENUMS:
        prefix, pas = _C_ENUMS[key]
        return key, _enum_p2t(value, prefix, pas)
    if isinstance(value, dict):
        return key, _cp2t_struct(value, etype)
    if isinstance(value, list):
        return key, [_cp2t_struct(v, etype) if isinstance(v, dict) else v for v in value]
    return key, value


def _cp2t_struct(d: dict, etype: str, top: bool = False) -> dict:
    out: dict[str, Any] = {}
    fails = _C_FAILURES.get(etype, {}) if top else {}
    for k, v in d.items():
        if k in fails and isinstance(v, dict):
            rk, dk = fails[k]
            rest = dict(v)
            if "reason" in rest:
                out[rk] = rest.pop("reason")
            if "details" in rest:
                out[dk] = rest.pop("details")
            if rest:
                out[k] = rest
            continue
        if top and k in _C_FLATTEN and isinstance(v, dict):
            rest = dict(v)
            for sub, flat in _C_FLATTEN[k].items():
                if sub in rest:
                    r = _cp2t_value(flat, rest.pop(sub), etype, False)
                    if r is not None:
                        out[r[0]] = r[1]
            if rest:
                out[k] = rest
            continue
        r = _cp2t_value(k, v, etype, top)
        if r is not None:
            out[r[0]] = r[1]
    return out


#: keys newer Cadence CLIs write (Go struct names / time.Time) -> proto keys; one-way (CLI -> proto)
_C_CLI_QUIRKS = {"PartitionConfig": "partitionConfig", "firstScheduleTimeNano": "firstScheduledTime"}


def _ct2p_value(key: str, value: Any, etype: str) -> tuple[str, Any]:
    if key in _C_CLI_QUIRKS:
        if key == "firstScheduleTimeNano" and isinstance(value, int) and not isinstance(value, bool):
            value = ns_to_rfc3339(value)
        return _C_CLI_QUIRKS[key], value
    if key in _C_INT64:
        return key, _to_str_int(value)
    if key in _C_PAYLOAD and isinstance(value, str):
        return key, {"data": value} if value else {}
    if key in _C_PAYLOAD_MAPS and isinstance(value, dict):
        sub = _C_PAYLOAD_MAPS[key]
        out = dict(value)
        if isinstance(value.get(sub), dict):
            out[sub] = {k: ({"data": v} if isinstance(v, str) else v) for k, v in value[sub].items()}
        return key, out
    if key in _C_DURATIONS_REV and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _C_DURATIONS_REV[key], seconds_to_duration(value)
    if key in _C_TIMES_REV and isinstance(value, int) and not isinstance(value, bool):
        return _C_TIMES_REV[key], ns_to_rfc3339(value)
    if key in _C_RENAMES_REV:
        return _C_RENAMES_REV[key], value
    if key == "cause" and etype in _C_CAUSE_PREFIX:
        return key, _enum_t2p(value, _C_CAUSE_PREFIX[etype])
    if key in _C_ENUMS:
        return key, _enum_t2p(value, _C_ENUMS[key][0])
    if isinstance(value, dict):
        return key, _ct2p_struct(value, etype)
    if isinstance(value, list):
        return key, [_ct2p_struct(v, etype) if isinstance(v, dict) else v for v in value]
    return key, value


def _ct2p_struct(d: dict, etype: str, top: bool = False) -> dict:
    out: dict[str, Any] = {}
    if top:
        pairs = {rk: (pk, "reason") for pk, (rk, dk) in _C_FAILURES.get(etype, {}).items()}
        pairs.update({dk: (pk, "details") for pk, (rk, dk) in _C_FAILURES.get(etype, {}).items()})
        flat = {f: (struct, sub) for struct, m in _C_FLATTEN.items() for sub, f in m.items()}
    else:
        pairs, flat = {}, {}
    for k, v in d.items():
        if k in pairs:
            pk, part = pairs[k]
            out.setdefault(pk, {})[part] = v
            continue
        if k in flat:
            struct, sub = flat[k]
            kk, vv = _ct2p_value(sub if sub != "initiatedId" else "initiatedId", v, etype)
            if sub == "initiatedId":
                vv = _to_str_int(v)
            elif sub == "workflowExecution":
                vv = v
            out.setdefault(struct, {})[sub] = vv
            continue
        if k in out and isinstance(out[k], dict) and isinstance(v, dict):
            # a leftover of a failure/flattened struct carried over under its proto key
            kk, vv = _ct2p_value(k, v, etype)
            out[k].update(vv)
            continue
        kk, vv = _ct2p_value(k, v, etype)
        out[kk] = vv
    return out


def cadence_proto_event_to_cli(ev: dict) -> dict:
    """A Cadence ``cadence.api.v1.HistoryEvent`` in proto-JSON -> the CLI (thrift) JSON event."""
    out: dict[str, Any] = {}
    akey = None
    for k in ev:
        if k.endswith("EventAttributes"):
            akey = k
            break
    etype = type_from_attributes_key(akey) if akey else None
    for k, v in ev.items():
        if k == "eventTime":
            out["timestamp"] = rfc3339_to_ns(v)
        elif k == akey:
            out["eventType"] = etype
            out[k] = _cp2t_struct(v, etype or "", top=True) if isinstance(v, dict) else v
        elif k in _C_INT64:
            out[k] = _to_int(v)
        else:
            out[k] = v
    if etype is not None and "eventType" not in out:
        out["eventType"] = etype
    order = ["eventId", "timestamp", "eventType", "version", "taskId"]
    return {**{k: out[k] for k in order if k in out}, **{k: v for k, v in out.items() if k not in order}}


def cadence_cli_event_to_proto(ev: dict) -> dict:
    """A Cadence CLI (thrift) JSON event -> ``cadence.api.v1.HistoryEvent`` proto-JSON (no ``eventType``)."""
    out: dict[str, Any] = {}
    etype = ev.get("eventType")
    for k, v in ev.items():
        if k == "eventType":
            continue
        if k == "timestamp":
            out["eventTime"] = ns_to_rfc3339(_to_int(v))
        elif k.endswith("EventAttributes") and isinstance(v, dict):
            out[k] = _ct2p_struct(v, etype or type_from_attributes_key(k), top=True)
        elif k in _C_INT64:
            out[k] = _to_str_int(v)
        else:
            out[k] = v
    return out


# --- Cadence CLI JSON <-> canonical Temporal proto-JSON ---------------------------------------------------------

_JSON_PLAIN = base64.b64encode(b"json/plain").decode()
_BINARY_PLAIN = base64.b64encode(b"binary/plain").decode()
_json_encode = msgspec.json.encode
_json_decode = msgspec.json.decode


def _cadence_bytes_to_payloads(text: Any) -> dict:
    try:
        data = b64(text) if text else b""
    except ValueError:
        return {"payloads": [{"metadata": {"encoding": _BINARY_PLAIN}, "data": text}]}
    if not data:
        return {}
    try:
        _json_decode(data)
        parts = [data.rstrip(b"\n")]
    except (msgspec.DecodeError, ValueError):
        parts = [p for p in data.split(b"\n") if p.strip()]
        try:
            for p in parts:
                _json_decode(p)
        except (msgspec.DecodeError, ValueError):
            return {"payloads": [{"metadata": {"encoding": _BINARY_PLAIN},
                                  "data": base64.b64encode(data).decode()}]}
    return {"payloads": [{"metadata": {"encoding": _JSON_PLAIN}, "data": base64.b64encode(p).decode()}
                         for p in parts]}


def _payloads_to_cadence_bytes(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    if "payloads" not in value and ("data" in value or "metadata" in value):
        value = {"payloads": [value]}
    out = b""
    for p in value.get("payloads") or []:
        if not isinstance(p, dict):
            continue
        try:
            data = b64(p.get("data", "") or "")
        except ValueError:
            continue
        enc = b""
        meta = p.get("metadata") or {}
        if isinstance(meta, dict) and "encoding" in meta:
            try:
                enc = b64(meta["encoding"])
            except ValueError:
                enc = b""
        if enc == b"binary/null":
            data = b"null"
        out += data + (b"\n" if enc.startswith(b"json/") or enc == b"binary/null" else b"")
    return base64.b64encode(out).decode() if out else ""


def _cadence_failure_doc(reason: Any, details: Any) -> tuple[str, dict]:
    """(message, applicationFailureInfo) of a Cadence reason/details pair (wfkit's JSON details understood)."""
    message = ""
    info: dict[str, Any] = {"type": reason if isinstance(reason, str) else ""}
    try:
        raw = b64(details) if details else b""
        doc = _json_decode(raw) if raw else None
    except (ValueError, msgspec.DecodeError):
        doc = None
    if isinstance(doc, dict) and "message" in doc:
        message = doc.get("message") or message
        if doc.get("type"):
            info["type"] = doc["type"]
        if doc.get("non_retryable"):
            info["nonRetryable"] = True
        if doc.get("details") is not None:
            info["details"] = {"payloads": [
                {"metadata": {"encoding": _JSON_PLAIN}, "data": base64.b64encode(_json_encode(d)).decode()}
                for d in (doc["details"] if isinstance(doc["details"], list) else [doc["details"]])]}
    elif isinstance(doc, str) and doc:
        message = doc
    elif details:
        info["details"] = _cadence_bytes_to_payloads(details)
    return message, info


def _t_failure_from_cadence(reason: Any, details: Any) -> dict:
    message, info = _cadence_failure_doc(reason, details)
    return {"message": message, "source": "Cadence", "applicationFailureInfo": info}


def _cadence_from_t_failure(f: Any) -> tuple[str, str]:
    """Temporal Failure -> Cadence (reason, details) in wfkit's convention (reason = type, details = JSON doc)."""
    if not isinstance(f, dict):
        return "", ""
    info: dict = f["applicationFailureInfo"] if isinstance(f.get("applicationFailureInfo"), dict) else {}
    ftype = info.get("type") or ""
    det = None
    if info.get("details") is not None:
        try:
            det = decode_temporal_json(info.get("details"))
        except Exception:  # noqa: BLE001
            det = None
    doc = {"type": ftype or None, "message": f.get("message", ""),
           "details": det if isinstance(det, list) else ([] if det is None else [det]),
           "non_retryable": bool(info.get("nonRetryable")), "stack": f.get("stackTrace", "")}
    reason = "wfkit:NonRetryable" if doc["non_retryable"] else (ftype or f.get("message", "") or "error")
    return reason, base64.b64encode(_json_encode(doc)).decode()


_C2T_DURATIONS = {
    "executionStartToCloseTimeoutSeconds": "workflowRunTimeout",
    "taskStartToCloseTimeoutSeconds": "workflowTaskTimeout",
    "firstDecisionTaskBackoffSeconds": "firstWorkflowTaskBackoff",
    "backoffStartIntervalInSeconds": "backoffStartInterval",
    "initialIntervalInSeconds": "initialInterval",
    "maximumIntervalInSeconds": "maximumInterval",
    "expirationIntervalInSeconds": "expirationInterval",
    "startToFireTimeoutSeconds": "startToFireTimeout",
    "scheduleToCloseTimeoutSeconds": "scheduleToCloseTimeout",
    "scheduleToStartTimeoutSeconds": "scheduleToStartTimeout",
    "startToCloseTimeoutSeconds": "startToCloseTimeout",
    "heartbeatTimeoutSeconds": "heartbeatTimeout",
    "delayStartSeconds": "workflowStartDelay",
}
_T2C_DURATIONS = {v: k for k, v in _C2T_DURATIONS.items()}
_C2T_RENAMES = {"taskList": "taskQueue", "domain": "namespace", "parentWorkflowDomain": "parentWorkflowNamespace",
                "decisionTaskCompletedEventId": "workflowTaskCompletedEventId",
                "nonRetriableErrorReasons": "nonRetryableErrorTypes",
                "expirationTimestamp": "workflowExecutionExpirationTime"}
_T2C_RENAMES = {v: k for k, v in _C2T_RENAMES.items()}
_C2T_ENUMS = {"kind": "TASK_QUEUE_KIND_", "parentClosePolicy": "PARENT_CLOSE_POLICY_",
              "workflowIdReusePolicy": "WORKFLOW_ID_REUSE_POLICY_"}
_C2T_INITIATOR = {"Decider": "CONTINUE_AS_NEW_INITIATOR_WORKFLOW", "RetryPolicy": "CONTINUE_AS_NEW_INITIATOR_RETRY",
                  "CronSchedule": "CONTINUE_AS_NEW_INITIATOR_CRON_SCHEDULE"}
_T2C_INITIATOR = {v: k for k, v in _C2T_INITIATOR.items()}
_C_FAIL_PAIRS = {"reason": "details", "lastFailureReason": "lastFailureDetails",
                 "continuedFailureReason": "continuedFailureDetails", "failureReason": "failureDetails"}
_C_FAIL_TARGET = {"reason": "failure", "lastFailureReason": "lastFailure",
                  "continuedFailureReason": "continuedFailure", "failureReason": "failure"}
_C_FAIL_TYPES = {"WorkflowExecutionFailed", "DecisionTaskFailed", "ActivityTaskFailed",
                 "ChildWorkflowExecutionFailed", "ActivityTaskStarted", "ActivityTaskTimedOut",
                 "WorkflowExecutionStarted", "WorkflowExecutionContinuedAsNew"}


def _c2t(d: Any, etype: str, top: bool) -> Any:
    if isinstance(d, list):
        return [_c2t(v, etype, False) for v in d]
    if not isinstance(d, dict):
        return d
    out: dict[str, Any] = {}
    if top and etype in ATTEMPT_EVENT_TYPES and "attempt" not in d:
        out["attempt"] = 1  # Cadence omits a first attempt (its zero value); Temporal counts from 1
    for k, v in d.items():
        if top and etype in _C_FAIL_TYPES and (k in _C_FAIL_PAIRS or k in _C_FAIL_PAIRS.values()):
            if k in _C_FAIL_PAIRS and (v or d.get(_C_FAIL_PAIRS[k])):
                out[_C_FAIL_TARGET[k]] = _t_failure_from_cadence(v, d.get(_C_FAIL_PAIRS[k]))
            continue
        if k in _C_PAYLOAD and isinstance(v, str):
            p = _cadence_bytes_to_payloads(v)
            if etype == "MarkerRecorded" and k == "details":
                out[k] = {"data": p}
            elif p:
                out[k] = p
            continue
        if k in _C_PAYLOAD_MAPS and isinstance(v, dict):
            sub = _C_PAYLOAD_MAPS[k]
            fields: dict = v[sub] if isinstance(v.get(sub), dict) else {}
            conv = {}
            for fk, fv in fields.items():
                ps = _cadence_bytes_to_payloads(fv).get("payloads") or [{}]
                conv[fk] = ps[0]
            out[k] = {**{kk: vv for kk, vv in v.items() if kk != sub}, sub: conv}
            continue
        if k in _C2T_DURATIONS and isinstance(v, (int, float)) and not isinstance(v, bool):
            out[_C2T_DURATIONS[k]] = seconds_to_duration(v)
            continue
        if k == "expirationTimestamp" and isinstance(v, int):
            out[_C2T_RENAMES[k]] = ns_to_rfc3339(v) if v else None
            if not v:
                del out[_C2T_RENAMES[k]]
            continue
        if k == "attempt" and top and etype in ATTEMPT_EVENT_TYPES and isinstance(v, int):
            out[k] = v + 1 - ATTEMPT_BASE
            continue
        if k == "timeoutType" and top and etype == "ActivityTaskTimedOut" and isinstance(v, str):
            out["failure"] = {"message": f"activity {pascal(v)} timeout", "source": "Cadence",
                              "timeoutFailureInfo": {"timeoutType": "TIMEOUT_TYPE_" + screaming(v)}}
            continue
        if k == "timeoutType" and isinstance(v, str):
            out[k] = "TIMEOUT_TYPE_" + screaming(v)
            continue
        if k == "initiator" and isinstance(v, str):
            out[k] = _C2T_INITIATOR.get(v, v)
            continue
        if k in _C2T_ENUMS and isinstance(v, str):
            out[k] = _enum_t2p(v, _C2T_ENUMS[k])
            continue
        nk: str = _C2T_RENAMES.get(k) or k
        if k in _C_INT64 or nk.endswith("EventId"):
            out[nk] = _to_str_int(v)
        else:
            out[nk] = _c2t(v, etype, False)
    return out


def cadence_event_to_temporal(ev: dict) -> dict:
    """A Cadence CLI JSON event -> a Temporal proto-JSON event (best effort).

    DecisionTask* become WorkflowTask*, taskList -> taskQueue, domain -> namespace, whole-second durations ->
    durations, JSON argument bytes -> ``json/plain`` payloads, reason/details -> Failure (wfkit's JSON details
    understood), 0-based attempts -> 1-based. Fields Temporal has no name for keep their Cadence name.
    """
    etype = ev.get("eventType") if isinstance(ev.get("eventType"), str) else None
    akey_c = attributes_key(etype) if etype else None
    canon = TO_CANONICAL.get(etype, etype) if etype else None
    out: dict[str, Any] = {}
    for k, v in ev.items():
        if k == "eventId" or k == "version" or k == "taskId":
            out[k] = _to_str_int(v)
        elif k == "timestamp":
            out["eventTime"] = ns_to_rfc3339(_strict_int(v))
        elif k == "eventType":
            out[k] = "EVENT_TYPE_" + screaming(canon) if canon else v
        elif k == akey_c and canon:
            out[attributes_key(canon)] = _c2t(v, etype, True)  # type: ignore[arg-type]
        else:
            out[k] = v
    return out


def _t2c(d: Any, etype: str, top: bool) -> Any:
    if isinstance(d, list):
        return [_t2c(v, etype, False) for v in d]
    if not isinstance(d, dict):
        return d
    out: dict[str, Any] = {}
    for k, v in d.items():
        if top and k in ("failure", "lastFailure", "continuedFailure") and isinstance(v, dict):
            if etype == "ActivityTaskTimedOut" and k == "failure" and isinstance(v.get("timeoutFailureInfo"), dict):
                tt = v["timeoutFailureInfo"].get("timeoutType", "")
                out["timeoutType"] = tt[len("TIMEOUT_TYPE_"):] if isinstance(tt, str) else tt
                continue
            reason, details = _cadence_from_t_failure(v)
            if k == "failure":
                names = ("failureReason", "failureDetails") if etype == "WorkflowExecutionContinuedAsNew" \
                    else ("reason", "details")
            elif k == "lastFailure":
                names = ("lastFailureReason", "lastFailureDetails")
            else:
                names = ("continuedFailureReason", "continuedFailureDetails")
            out[names[0]] = reason
            out[names[1]] = details
            continue
        if k in _C_PAYLOAD and isinstance(v, dict):
            if etype == "MarkerRecorded" and k == "details" and "payloads" not in v:
                if set(v) == {"data"}:
                    out[k] = _payloads_to_cadence_bytes(v["data"])
                else:
                    decoded = decode_temporal_json(v)
                    out[k] = base64.b64encode(_json_encode(decoded)).decode()
                continue
            out[k] = _payloads_to_cadence_bytes(v)
            continue
        if k in _C_PAYLOAD_MAPS and isinstance(v, dict):
            sub = _C_PAYLOAD_MAPS[k]
            fields: dict = v[sub] if isinstance(v.get(sub), dict) else {}
            out[k] = {**{kk: vv for kk, vv in v.items() if kk != sub},
                      sub: {fk: _payloads_to_cadence_bytes(fv) for fk, fv in fields.items()}}
            continue
        if k in _T2C_DURATIONS and isinstance(v, str):
            try:
                secs = duration_to_seconds(v)
                out[_T2C_DURATIONS[k]] = math.ceil(secs)
            except ValueError:
                out[k] = v
            continue
        if k == "workflowExecutionExpirationTime" and isinstance(v, str):
            try:
                out["expirationTimestamp"] = rfc3339_to_ns(v)
            except ValueError:
                out[k] = v
            continue
        if k == "attempt" and top and etype in ATTEMPT_EVENT_TYPES and isinstance(v, int):
            out[k] = max(v - 1 + ATTEMPT_BASE, ATTEMPT_BASE)
            continue
        if k == "timeoutType" and isinstance(v, str):
            out[k] = v.removeprefix("TIMEOUT_TYPE_")
            continue
        if k == "initiator" and isinstance(v, str):
            out[k] = _T2C_INITIATOR.get(v, v)
            continue
        if k in _C2T_ENUMS and isinstance(v, str):
            pas = k == "workflowIdReusePolicy"
            out[k] = _enum_p2t(v, _C2T_ENUMS[k], pas)
            continue
        nk: str = _T2C_RENAMES.get(k) or k
        if nk in _C_INT64 or nk.endswith("EventId"):
            out[nk] = _to_int(v)
        else:
            out[nk] = _t2c(v, etype, False)
    return out


def temporal_event_to_cadence(ev: dict) -> dict:
    """A Temporal proto-JSON event -> a Cadence CLI JSON event (best effort; see
    :func:`cadence_event_to_temporal` for the mapping, applied in reverse; failures become wfkit's
    reason/details convention)."""
    raw_type = ev.get("eventType")
    canon = None
    if isinstance(raw_type, str):
        canon = pascal(raw_type[len("EVENT_TYPE_"):]) if raw_type.startswith("EVENT_TYPE_") else raw_type
    elif isinstance(raw_type, int) and not isinstance(raw_type, bool):
        canon = TEMPORAL_EVENT_TYPE_NUMBERS.get(raw_type)
    if canon is None:
        for k in ev:
            if k.endswith("EventAttributes"):
                canon = type_from_attributes_key(k)
    ctype = FROM_CANONICAL.get(canon, canon) if canon else None
    akey_t = attributes_key(canon) if canon else None
    out: dict[str, Any] = {}
    for k, v in ev.items():
        if k in ("eventId", "version", "taskId"):
            out[k] = _to_int(v)
            if k == "eventId" and "eventTime" in ev:
                out["timestamp"] = rfc3339_to_ns(ev["eventTime"])
                out["eventType"] = ctype
        elif k == "eventTime":
            if "eventId" not in ev:
                out["timestamp"] = rfc3339_to_ns(v)
        elif k == "eventType":
            out.setdefault("eventType", ctype)
        elif k == akey_t and ctype:
            out[attributes_key(ctype)] = _t2c(v, ctype, True)
        else:
            out[k] = v
    if ctype and "eventType" not in out:
        out["eventType"] = ctype
    return out
