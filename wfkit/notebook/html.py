"""Rich HTML for notebooks: one Jinja template per object, autoescaped, rendering only what is already fetched."""

from __future__ import annotations

import functools
from typing import Any

DISPLAY_LIMIT = 50


@functools.lru_cache(maxsize=1)
def _env() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("wfkit.notebook", "templates"), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = lambda t: "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " UTC"
    return env


def render(template: str, **context: Any) -> str:
    return _env().get_template(template).render(**context)


def client_html(client: Any) -> str:
    return render("client.html.j2", c=client, caps=sorted(client.capabilities))


def execution_html(e: Any) -> str:
    return render("execution.html.j2", e=e)


def executions_html(execs: Any, limit: int = DISPLAY_LIMIT) -> str:
    rows = list(execs[:limit])
    return render("executions.html.j2", rows=rows, total=len(execs), shown=len(rows), query=execs.query,
                  truncated=execs.truncated)


def history_html(h: Any, limit: int = DISPLAY_LIMIT) -> str:
    frame = h.to_dataframe()
    cols = ["event_id", "time", "event_type", "activity_type", "timer_id", "signal_name", "attempt", "failure"]
    rows = frame[cols].head(limit).to_dict("records")
    return render("history.html.j2", h=h, rows=rows, cols=cols, total=len(frame), shown=len(rows))
