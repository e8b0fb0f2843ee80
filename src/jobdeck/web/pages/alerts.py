"""The alerts pages: /alerts (firing, pending, resolved, silences, history), /alerts/rules (what each
rule means and what to do: the runbook links point here) and /alerts/channels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field, ValidationError

from jobdeck.alerts.catalog import BY_NAME, RULES
from jobdeck.alerts.rules import figure
from jobdeck.store import alerts as store_alerts
from jobdeck.store import channels as store_channels
from jobdeck.web.api.alerts import alerts_view, rules_view
from jobdeck.web.api.channels import ChannelIn, list_channels, send_test
from jobdeck.web.deps import RowId, SettingsDep, StoreDep
from jobdeck.web.pages.rendering import page_url, render

router = APIRouter(include_in_schema=False)
SILENCE_HOURS = ((1, "1 hour"), (4, "4 hours"), (24, "1 day"), (24 * 7, "1 week"))


def shown(rule: str, value: float | None) -> str:
    return figure(BY_NAME[rule], value) if rule in BY_NAME else "" if value is None else f"{value:g}"


def alerts_context(store: Any) -> dict[str, Any]:
    view = alerts_view(store, datetime.now(UTC))
    return {"view": view, "rules": RULES, "shown": shown, "silence_hours": SILENCE_HOURS}


@router.get("/alerts", response_class=HTMLResponse, name="alerts_page")
def alerts_page(request: Request, store: StoreDep) -> HTMLResponse:
    """What fires now, what may fire, what resolved; silences and history."""
    return render(request, "alerts.html", alerts_context(store))


@router.get("/fragments/alerts", response_class=HTMLResponse, name="alerts_fragment")
def alerts_fragment(request: Request, store: StoreDep) -> HTMLResponse:
    return render(request, "fragments/alerts_body.html", alerts_context(store))


@router.get("/fragments/alerts/count", response_class=HTMLResponse, name="alerts_count_fragment")
def alerts_count(request: Request, store: StoreDep) -> HTMLResponse:
    """The firing count beside the Alerts link (loaded by every page, the overview too)."""
    with store.read() as conn:
        count = store_alerts.firing_count(conn)
    return render(request, "fragments/alerts_count.html", {"count": count})


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a URL-encoded form (the pages' forms send nothing else; the last of a repeated
    field wins)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: value for key, value in parse_qsl(body, keep_blank_values=True)}


class SilenceForm(BaseModel):
    hours: float = Field(gt=0, le=24 * 366)
    rule: str = Field(default="", max_length=64)
    job: str = Field(default="", max_length=200)
    comment: str = Field(default="", max_length=2000)


@router.post("/alerts/silences", name="alerts_silence_add")
async def add_silence(request: Request, store: StoreDep) -> Response:
    try:
        form = SilenceForm.model_validate(await form_fields(request))
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_context=False)) from None
    rule, job, comment, hours = form.rule, form.job, form.comment, form.hours
    if rule and rule not in BY_NAME:
        raise HTTPException(422, f"unknown rule {rule!r}")
    now = datetime.now(UTC)
    values = {
        "rule": rule or None,
        "job": job.strip() or None,
        "starts_at": now,
        "ends_at": now + timedelta(hours=hours),
        "comment": comment.strip() or None,
        "created_at": now,
    }
    await run_in_threadpool(_add_silence, store, values)
    return RedirectResponse(page_url(request, "alerts_page") + "#silences", status_code=303)


def _add_silence(store: Any, values: dict[str, Any]) -> None:
    with store.write() as conn:
        store_alerts.add_silence(conn, values)


@router.post("/alerts/silences/{silence_id}/delete", name="alerts_silence_delete")
def delete_silence(request: Request, store: StoreDep, silence_id: RowId) -> Response:
    with store.write() as conn:
        store_alerts.remove_silence(conn, silence_id)
    return RedirectResponse(page_url(request, "alerts_page") + "#silences", status_code=303)


@router.get("/alerts/rules", response_class=HTMLResponse, name="alert_rules_page")
def rules_page(request: Request, store: StoreDep) -> HTMLResponse:
    """Each rule: what it means, its default and the thresholds set over it, what to do (runbooks)."""
    return render(request, "alert_rules.html", {"rules": rules_view(store), "shown": shown})


def channels_context(
    store: Any, error: str | None = None, form: dict[str, str] | None = None
) -> dict[str, Any]:
    return {"channels": list_channels(store), "error": error, "form": form or {}}


@router.get("/alerts/channels", response_class=HTMLResponse, name="channels_page")
def channels_page(request: Request, store: StoreDep) -> HTMLResponse:
    """Where notifications go, and how their latest deliveries went."""
    return render(request, "channels.html", channels_context(store))


@router.post("/alerts/channels", name="channels_add")
async def add_channel(request: Request, store: StoreDep) -> Response:
    fields = await form_fields(request)
    form = {name: fields.get(name, "") for name in ("type", "name", "target")}
    return await run_in_threadpool(_add_channel, request, store, form)


def _add_channel(request: Request, store: Any, form: dict[str, str]) -> Response:
    target = {"to": form["target"]} if form["type"] == "email" else {"url": form["target"]}
    try:
        channel = ChannelIn.model_validate({"type": form["type"], "name": form["name"].strip(), **target})
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'channel'}: {e['msg']}" for e in exc.errors())
        message = message.replace("Value error, ", "")
        return render(request, "channels.html", channels_context(store, message, form), status_code=422)
    with store.write() as conn:
        if store_channels.channel_named(conn, channel.name) is not None:
            message = f"a channel named {channel.name!r} exists"
            return render(request, "channels.html", channels_context(store, message, form), status_code=409)
        store_channels.add_channel(conn, channel.type, channel.name, channel.target, datetime.now(UTC))
    return RedirectResponse(page_url(request, "channels_page"), status_code=303)


@router.post("/alerts/channels/{channel_id}/delete", name="channels_delete")
def delete_channel(request: Request, store: StoreDep, channel_id: RowId) -> Response:
    with store.write() as conn:
        store_channels.remove_channel(conn, channel_id)
    return RedirectResponse(page_url(request, "channels_page"), status_code=303)


@router.post("/alerts/channels/{channel_id}/test", name="channels_test")
async def test_channel(
    request: Request, store: StoreDep, settings: SettingsDep, channel_id: RowId
) -> Response:
    """Send a test message now; htmx gets the result in place, a plain form the page again."""
    delivery = await run_in_threadpool(send_test, store, settings, channel_id)
    if request.headers.get("hx-request"):
        return render(request, "fragments/channel_test.html", {"delivery": delivery})
    return RedirectResponse(page_url(request, "channels_page"), status_code=303)
