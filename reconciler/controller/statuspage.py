"""The status page: server-rendered HTML of the same JSON that ``/status`` answers.

An operator opening the health address in a browser (or through ``kubectl port-forward``)
should see at once which accounts are out of sync, since when, at which revision and why,
without a build step, a JavaScript bundle or anything fetched from the internet: the page is
one HTML document with its CSS inline, it refreshes itself every few seconds, and it is rendered
from the very dictionaries ``/status`` serialises, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from reconciler.controller.conditions import short_revision

__all__ = ["REFRESH_SECONDS", "account_page", "overview_page"]

REFRESH_SECONDS = 5
CONTACT_ROWS = 500  # an account page lists this many contacts, the out-of-sync ones first

_CSS = """
:root { color-scheme: light dark; --ok:#1a7f37; --bad:#cf222e; --warn:#9a6700; --muted:#6e7781;
  --line:#d0d7de; --head:#f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --line:#30363d; --head:#161b22; --muted:#8b949e; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.5rem 2rem; }
h1 { font-size: 1.35rem; margin: 0 0 .2rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.sub { color: var(--muted); margin-bottom: 1rem; }
.tiles { display: flex; gap: .8rem; margin: 1rem 0; flex-wrap: wrap; }
.tile { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .9rem; min-width: 7rem; }
.tile b { display: block; font-size: 1.5rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--head); font-weight: 600; white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.badge { display: inline-block; border-radius: 1rem; padding: 0 .6rem; font-weight: 600;
  color: #fff; white-space: nowrap; }
.InSync, .True-good, .False-good { background: var(--ok); }
.OutOfSync, .Failed, .Stalled, .True-bad, .False-bad { background: var(--bad); }
.Progressing, .Unknown-any { background: var(--warn); }
.Suspended { background: var(--muted); }
.muted { color: var(--muted); } .why { color: var(--muted); font-size: 12px; }
a { color: inherit; } a.name, .nowrap { white-space: nowrap; }
"""

# For each condition, which status is the healthy one.
_GOOD = {"Ready": "True", "Synced": "True", "Drifted": "False", "Stalled": "False"}


def _ago(stamp: str | None, now: datetime) -> str:
    if not stamp:
        return "never"
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((now - then).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"


def _when(stamp: str | None, now: datetime, missing: str = "never") -> str:
    if not stamp:
        return f'<span class="muted">{missing}</span>'
    return f'<span title="{escape(stamp)}">{escape(_ago(stamp, now))}</span>'


def _badge(text: str, css: str | None = None) -> str:
    return f'<span class="badge {escape(css or text)}">{escape(text)}</span>'


def _condition_badge(condition: Mapping[str, Any]) -> str:
    status, kind = condition["status"], condition["type"]
    css = (
        "Unknown-any"
        if status == "Unknown"
        else f"{status}-" + ("good" if _GOOD.get(kind) == status else "bad")
    )
    title = f"{condition['reason']}: {condition['message']}".strip(": ")
    return f'<span class="badge {css}" title="{escape(title)}">{escape(status)}</span>'


def _conditions(conditions: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {c["type"]: c for c in conditions}


def _table(head: Iterable[str], rows: Iterable[Iterable[str]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        return f'<p class="muted">{escape(empty)}</p>'
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _document(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body>{body}</body></html>"
    ).encode()


def _now(status: Mapping[str, Any]) -> datetime:
    return datetime.strptime(status["generatedAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _revision(revision: str | None) -> str:
    if not revision:
        return '<span class="muted">&ndash;</span>'
    return f'<code title="{escape(revision)}">{escape(short_revision(revision))}</code>'


def _account_link(name: str) -> str:
    return f'<a class="name" href="/accounts/{quote(name)}"><b>{escape(name)}</b></a>'


def _last_pass(last: Mapping[str, Any] | None, now: datetime) -> str:
    if not last:
        return '<span class="muted">none yet</span>'
    return f'<span class="nowrap">{escape(str(last["outcome"]))} {_when(last["end"], now)}</span>'


def overview_page(status: Mapping[str, Any]) -> bytes:
    """Every account, those out of sync first: state, revision, conditions, contacts out of
    sync, conflicts, queue, last pass and why."""
    now, summary = _now(status), status["summary"]
    rows = []
    settled = ("InSync", "Suspended")  # the accounts that need a look come first
    for account in sorted(status["accounts"], key=lambda a: (a["state"] in settled, a["name"])):
        conditions = _conditions(account["conditions"])
        counts = account["counts"]
        rows.append(
            [
                _account_link(account["name"]),
                _badge(account["state"]),
                _revision(account["revision"]),
                " ".join(_condition_badge(conditions[t]) for t in _GOOD),
                f"{counts['outOfSync']} / {counts['total']}",
                str(counts["conflicts"]),
                str(counts["queued"]),
                _last_pass(account["lastPass"], now),
                f'<span class="why">{escape(account["message"])}</span>',
            ]
        )
    tiles = "".join(
        f'<div class="tile"><b>{n}</b>{escape(label)}</div>'
        for n, label in (
            (summary["accounts"], "accounts"),
            (summary["inSync"], "in sync"),
            (summary["outOfSync"], "out of sync"),
        )
    )
    body = (
        "<h1>contacts-reconciler</h1>"
        f'<div class="sub">status at {escape(status["generatedAt"])}; this page refreshes every '
        f'{REFRESH_SECONDS}s; JSON at <a href="/status">/status</a></div>'
        f'<div class="tiles">{tiles}</div>'
        + _table(
            [
                "Account",
                "State",
                "Revision",
                "Ready · Synced · Drifted · Stalled",
                "Out of sync",
                "Conflicts",
                "Queued",
                "Last pass",
                "Why",
            ],
            rows,
            "No account belongs to this controller.",
        )
        + _directory(status.get("directory") or [])
    )
    return _document("contacts-reconciler status", body)


def _directory(entries: list[Mapping[str, Any]]) -> str:
    """The directory entries, when accounts come from the Directory: how many users each
    selects and whether its refreshes work."""
    if not entries:
        return ""
    rows = [
        [
            escape(entry["name"]),
            escape(entry["selection"]),
            "-" if entry["users"] is None else str(entry["users"]),
            _badge("ok", "InSync") if entry["ok"] else _badge("failing", "Failed"),
            f'<span class="why">{escape(entry["error"])}</span>',
        ]
        for entry in entries
    ]
    return "<h2>Directory</h2>" + _table(
        ["Entry", "Selection", "Users", "Refresh", "Why"], rows, ""
    )


def account_page(account: Mapping[str, Any], generated_at: str) -> bytes:
    """One account: conditions, last pass, conflicts and queue with next attempts, contacts."""
    now = _now({"generatedAt": generated_at})
    name = escape(account["name"])
    conditions = _table(
        ["Condition", "Status", "Reason", "Message", "Since"],
        (
            [
                escape(c["type"]),
                _condition_badge(c),
                escape(c["reason"]),
                escape(c["message"]),
                _when(c["lastTransitionTime"], now),
            ]
            for c in account["conditions"]
        ),
        "",
    )
    last = account["lastPass"]
    last_pass = (
        f"<p>{_last_pass(last, now)}{escape(_counts(last['counts']))}"
        f' <span class="why">{escape(last["message"])}</span></p>'
        if last
        else '<p class="muted">No pass has finished yet.</p>'
    )
    conflicts = _table(
        ["Contact", "Next attempt", "Retries", "Message"],
        (
            [
                f"<code>{escape(c['key'])}</code>",
                _when(c["nextAttempt"], now, "not queued"),
                str(c["retries"]),
                escape(c["message"]),
            ]
            for c in account["conflicts"]
        ),
        "No conflicts.",
    )
    queued = _table(
        ["Key", "Next attempt", "Why", "Retries"],
        (
            [
                "<i>full pass</i>" if w["key"] == "*" else f"<code>{escape(w['key'])}</code>",
                _when(w["nextAttempt"], now),
                escape(w["reason"]),
                str(w["retries"]),
            ]
            for w in account["queued"]
        ),
        "Nothing queued.",
    )
    contacts = sorted(account.get("contacts", []), key=_contact_order)
    shown = contacts[:CONTACT_ROWS]
    contact_rows = _table(
        ["Contact", "Synced", "Drifted", "Stalled", "Last outcome", "Next attempt", "Why"],
        (_contact_row(c, now) for c in shown),
        "No managed contacts.",
    )
    more = len(contacts) - len(shown)
    if more:
        contact_rows += f'<p class="muted">and {more} more, all listed in the JSON.</p>'
    deletes = _table(
        ["Contact", "Reason"],
        (
            [f"<code>{escape(w['key'])}</code>", escape(w["reason"])]
            for w in account["withheldDeletes"]
        ),
        "No deletion withheld.",
    )
    orphans = ", ".join(f"<code>{escape(k)}</code>" for k in account["orphans"]) or "none"
    body = (
        f'<p><a href="/">← all accounts</a></p><h1>{name} {_badge(account["state"])}</h1>'
        f'<div class="sub">revision {_revision(account["revision"])} · drift policy '
        f"{escape(account['driftPolicy'])} · JSON at "
        f'<a href="/status/{quote(account["name"])}">/status/{name}</a></div>'
        f"<h2>Conditions</h2>{conditions}<h2>Last pass</h2>{last_pass}"
        f"<h2>Conflicts</h2>{conflicts}<h2>Queue</h2>{queued}"
        f"<h2>Contacts</h2>{contact_rows}"
        f"<h2>Withheld deletes</h2>{deletes}<h2>Orphans</h2><p>{orphans}</p>"
    )
    return _document(f"{account['name']}: contacts-reconciler status", body)


def _counts(counts: Mapping[str, int]) -> str:
    done = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    return f": {done}" if done else ""


def _contact_order(contact: Mapping[str, Any]) -> tuple[bool, str]:
    synced = _conditions(contact["conditions"])["Synced"]["status"] == "True"
    return synced, contact["key"]


def _contact_row(contact: Mapping[str, Any], now: datetime) -> list[str]:
    conditions = _conditions(contact["conditions"])
    return [
        f"<code>{escape(contact['key'])}</code>",
        _condition_badge(conditions["Synced"]),
        _condition_badge(conditions["Drifted"]),
        _condition_badge(conditions["Stalled"]),
        escape(contact["lastOutcome"]) if contact["lastOutcome"] else "&ndash;",
        _when(contact["nextAttempt"], now, "not queued"),
        f'<span class="why">{escape(conditions["Synced"]["message"])}</span>',
    ]
