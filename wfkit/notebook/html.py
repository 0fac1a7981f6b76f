"""Rich HTML for notebooks: one Jinja template per object, autoescaped, rendering only what is already fetched.

``DISPLAY_LIMIT`` caps the rows a repr shows (a footer says when rows are cut); ``%config WfMagic.display_limit``
sets it.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["DISPLAY_LIMIT", "batch_plan_html", "client_html", "diagnosis_html", "execution_html",
           "executions_html", "history_html", "render", "reset_plan_html", "task_queue_html"]

#: Rows shown by the HTML of lists and histories (read when a repr is rendered).
DISPLAY_LIMIT = 50


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("wfkit.notebook", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = lambda t: "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return env


def render(template: str, **context: Any) -> str:
    """Render one of ``wfkit/notebook/templates`` (user strings come out escaped)."""
    return _env().get_template(template).render(**context)


def client_html(client: Any) -> str:
    """A :class:`wfkit.Client`: engine, address, namespace, capabilities."""
    return render("client.html.j2", c=client, caps=sorted(client.capabilities))


def execution_html(e: Any) -> str:
    """One :class:`wfkit.Execution`."""
    return render("execution.html.j2", e=e)


def executions_html(execs: Any, limit: int | None = None) -> str:
    """A :class:`wfkit.Executions` table, its first ``limit`` rows (default :data:`DISPLAY_LIMIT`)."""
    rows = list(execs[:DISPLAY_LIMIT if limit is None else limit])
    return render("executions.html.j2", rows=rows, total=len(execs), shown=len(rows), query=execs.query,
                  truncated=execs.truncated)


def history_html(h: Any, limit: int | None = None) -> str:
    """A :class:`wfkit.History`: its first ``limit`` events (default :data:`DISPLAY_LIMIT`)."""
    frame = h.to_dataframe()
    cols = ["event_id", "time", "event_type", "activity_type", "timer_id", "signal_name", "attempt", "failure"]
    rows = frame[cols].head(DISPLAY_LIMIT if limit is None else limit).to_dict("records")
    return render("history.html.j2", h=h, rows=rows, cols=cols, total=len(frame), shown=len(rows))


def diagnosis_html(d: Any) -> str:
    """A :class:`wfkit.Diagnosis`: its findings, problems first, with their evidence."""
    findings = sorted(d.findings, key=lambda f: f.severity != "problem")
    return render("diagnosis.html.j2", d=d, findings=findings)


def task_queue_html(tq: Any) -> str:
    """A :class:`wfkit.TaskQueueInfo`: its pollers and backlog."""
    return render("task_queue.html.j2", tq=tq, pollers=list(tq.pollers)[:DISPLAY_LIMIT])


def reset_plan_html(plan: Any) -> str:
    """A :class:`wfkit.ResetPlan`: the reset point, the events discarded and the signals reapplied."""
    cols = ["event_id", "time", "event_type", "activity_type", "timer_id", "signal_name"]
    rows = plan.discarded[cols].head(DISPLAY_LIMIT).to_dict("records")
    signals = plan.reapplied_signals[["event_id", "time", "signal_name", "payload"]].to_dict("records")
    return render("reset_plan.html.j2", p=plan, rows=rows, cols=cols, total=len(plan.discarded), signals=signals)


def batch_plan_html(plan: Any) -> str:
    """A :class:`wfkit.BatchPlan`: what each workflow would get (its first rows)."""
    cols = list(plan.preview.columns)
    rows = plan.preview.head(DISPLAY_LIMIT).to_dict("records")
    return render("batch_plan.html.j2", p=plan, rows=rows, cols=cols, total=len(plan.preview))
