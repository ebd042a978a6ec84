"""Subscriber pages: one-click unsubscribe (RFC 8058), preferences, sign-up with double opt-in, confirm.

Links carry signed, scoped tokens (:mod:`distro.tokens`), never database ids. Every form but the RFC 8058
one-click POST also carries a per-form token bound to the subscriber and the page's scope (``form-...``),
so another site cannot post a change for a reader who merely holds a link. The public sign-up form has no
such token on purpose: it is meant to be embedded on other pages, and double opt-in makes a forged
sign-up harmless.

Sign-ups and address changes are rate-limited in the database (:mod:`distro.services.limits`), so every
web process counts the same events; an address is counted as normalised, whatever form it was typed in.
Neither form's answer says whether an address belongs to a subscriber.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

import fastapi
from fastapi.responses import HTMLResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from distro.app import App
from distro.models import Subscriber
from distro.services import address_change as change
from distro.services import preferences as prefs
from distro.services.limits import address_key, allow
from distro.services.personal import PREFERENCES_SCOPE, UNSUBSCRIBE_SCOPE, unsubscribe_url
from distro.services.signup import SignupError, confirm, request_signup
from distro.services.subscribers import InvalidSubscriber, normalise_email, receiving, wants
from distro.tokens import InvalidToken, make_token, read_token
from distro.web.deps import AppDep
from distro.web.forms import first, read_form

router = fastapi.APIRouter()
ONE_CLICK = "One-Click"
BAD_LINK = "This link is not valid. Use the link from your latest email, exactly as it was sent."
EXPIRED_FORM = "This form has expired; reload the page and try again."
HOUR, DAY = 3600.0, 86400.0


def _signup_allowed(app: App, client: str, email: str) -> bool:
    """Within the sign-up limits per client IP and per address (as normalised: ``bomb@ｅxample.org`` counts
    as ``bomb@example.org``). A malformed address counts on the IP only; it is refused, never mailed."""
    web = app.settings.web
    if not allow(app.engine, f"signup:ip:{client}", limit=web.signup_per_ip_per_hour, window_seconds=HOUR):
        return False
    try:
        address = normalise_email(email)
    except InvalidSubscriber:
        return True
    key = address_key("signup", address)
    return allow(app.engine, key, limit=web.signup_per_address_per_hour, window_seconds=HOUR)


def _change_allowed(app: App, subscriber_id: int, address: str) -> bool:
    """Within the address-change limits per subscription and per new address (normalised)."""
    web = app.settings.web
    per_subscriber = web.change_email_per_subscriber_per_day
    if not allow(app.engine, f"change:subscriber:{subscriber_id}", limit=per_subscriber, window_seconds=DAY):
        return False
    key = address_key("change", address)
    return allow(app.engine, key, limit=web.change_email_per_address_per_day, window_seconds=DAY)


def _page(app: App, template: str, title: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = app.templates.get_template(f"web/{template}.html.j2").render(
        publication=app.settings.publication, title=title, **context
    )
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
    return HTMLResponse(html, status_code=status, headers=headers)


def _message(app: App, title: str, message: str, status: int = 200) -> HTMLResponse:
    return _page(app, "message", title, status, message=message, error=status >= 400)


def _csrf_ok(app: App, scope: str, subscriber_id: int, form: dict[str, list[str]]) -> bool:
    try:
        return read_token(app.signing_key, f"form-{scope}", first(form, "csrf")) == subscriber_id
    except InvalidToken:
        return False


# --- unsubscribe ---------------------------------------------------------------------------------------


OneList = Annotated[str | None, fastapi.Query(alias="list", max_length=40)]
# The edition whose link it is (``?e=<slug>``): the reader's leaving is counted for that edition's report.
Edition = Annotated[str | None, fastapi.Query(alias="e", max_length=100)]


def _one_list(app: App, subscriber: Subscriber, prefix: str | None) -> Any:
    """The newsletter a per-list link names, when the reader gets it and also gets another one."""
    if not prefix:
        return None
    gets = receiving(app.settings, subscriber)
    chosen = next((n for n in gets if n.slug_prefix == prefix), None)
    return chosen if chosen is not None and len(gets) > 1 else None


def _unsubscribe_page(
    app: App, subscriber_id: int, prefix: str | None = None, left: str = ""
) -> HTMLResponse:
    subscriber = prefs.get_subscriber(app, subscriber_id)
    return _page(
        app,
        "unsubscribe",
        "Unsubscribe",
        email=subscriber.email,
        one_list=_one_list(app, subscriber, prefix) if subscriber.status == "active" else None,
        left=left,
        subscribed=subscriber.status == "active",
        csrf=make_token(app.signing_key, f"form-{UNSUBSCRIBE_SCOPE}", subscriber_id),
    )


@router.get("/unsubscribe/{token}")
async def unsubscribe_page(token: str, app: AppDep, one_list: OneList = None) -> HTMLResponse:
    """A page with one button (two for a per-list link); GET never changes anything (link scanners
    follow links)."""
    try:
        subscriber_id = read_token(app.signing_key, UNSUBSCRIBE_SCOPE, token)
        return await run_in_threadpool(_unsubscribe_page, app, subscriber_id, one_list)
    except (InvalidToken, prefs.UnknownSubscriber):
        return _message(app, "Unsubscribe", BAD_LINK, 400)


@router.post("/unsubscribe/{token}", response_model=None)
async def unsubscribe(
    token: str, request: fastapi.Request, app: AppDep, one_list: OneList = None, edition: Edition = None
) -> HTMLResponse | PlainTextResponse:
    """RFC 8058 one-click (body ``List-Unsubscribe=One-Click``: no page, no token), or the page's buttons.

    ``?list=<slug_prefix>`` (in the links of a site with several newsletters) stops that newsletter only.
    """
    form = await read_form(request)
    try:
        subscriber_id = read_token(app.signing_key, UNSUBSCRIBE_SCOPE, token)
    except InvalidToken:
        return _message(app, "Unsubscribe", BAD_LINK, 400)
    if form is None:
        return _message(app, "Unsubscribe", "The request is too large.", 413)
    try:
        if first(form, "List-Unsubscribe") == ONE_CLICK:
            if one_list:
                await run_in_threadpool(
                    lambda: prefs.leave_newsletter(
                        app, subscriber_id, one_list, edition=edition, via="one-click"
                    )
                )
            else:
                await run_in_threadpool(
                    lambda: prefs.set_status(
                        app, subscriber_id, active=False, edition=edition, via="one-click"
                    )
                )
            return PlainTextResponse("unsubscribed\n")
        if not _csrf_ok(app, UNSUBSCRIBE_SCOPE, subscriber_id, form):
            return _message(app, "Unsubscribe", EXPIRED_FORM, 403)
        if first(form, "action") == "leave" and one_list:
            left = await run_in_threadpool(
                lambda: prefs.leave_newsletter(app, subscriber_id, one_list, edition=edition)
            )
            name = app.settings.newsletter(one_list).name if left.status == "active" else ""
            return await run_in_threadpool(_unsubscribe_page, app, subscriber_id, None, name)
        active = first(form, "action") == "resubscribe"
        await run_in_threadpool(lambda: prefs.set_status(app, subscriber_id, active=active, edition=edition))
        return await run_in_threadpool(_unsubscribe_page, app, subscriber_id)
    except prefs.UnknownSubscriber:
        return _message(app, "Unsubscribe", BAD_LINK, 400)


# --- preferences ---------------------------------------------------------------------------------------


def _newsletter_choices(app: App, subscriber: Subscriber | None) -> list[dict[str, Any]]:
    """Checkboxes for the newsletters, or none when the site has only one."""
    if len(app.settings.all_newsletters) < 2:
        return []
    return [
        {
            "prefix": n.slug_prefix,
            "name": n.name,
            "description": n.description,
            "checked": wants(subscriber, n) if subscriber is not None else n.subscribe_by_default,
        }
        for n in app.settings.all_newsletters
    ]


def _preferences_page(
    app: App, subscriber_id: int, *, notice: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    subscriber = prefs.get_subscriber(app, subscriber_id)
    chosen = {s.casefold() for s in subscriber.sections or app.settings.digest.sections}
    paused = subscriber.paused_until
    return _page(
        app,
        "preferences",
        "Preferences",
        status,
        email=subscriber.email,
        notice=notice,
        error=error,
        sections=[{"name": s, "checked": s.casefold() in chosen} for s in app.settings.digest.sections],
        newsletters=_newsletter_choices(app, subscriber),
        paused_until=paused.date().isoformat() if paused else None,
        max_pause=app.settings.web.max_pause_weeks,
        csrf=make_token(app.signing_key, f"form-{PREFERENCES_SCOPE}", subscriber_id),
        unsubscribe_url=unsubscribe_url(app, subscriber_id),
    )


@router.get("/preferences/{token}")
async def preferences_page(token: str, app: AppDep) -> HTMLResponse:
    try:
        subscriber_id = read_token(app.signing_key, PREFERENCES_SCOPE, token)
        return await run_in_threadpool(_preferences_page, app, subscriber_id)
    except (InvalidToken, prefs.UnknownSubscriber):
        return _message(app, "Preferences", BAD_LINK, 400)


def _change_email(app: App, subscriber_id: int, raw: str) -> HTMLResponse:
    """Ask the current address to approve a move (:mod:`distro.services.address_change`). The answer and
    the work are the same whether or not the new address belongs to a subscriber: it is not looked up."""
    current = prefs.get_subscriber(app, subscriber_id).email
    try:
        address = normalise_email(raw)
    except InvalidSubscriber as exc:
        return _preferences_page(app, subscriber_id, error=str(exc), status=422)
    if address.casefold() == current.casefold():
        error = f"{address} is already the address of this subscription."
        return _preferences_page(app, subscriber_id, error=error, status=422)
    if not _change_allowed(app, subscriber_id, address):
        error = "Too many address changes were asked for today; try again tomorrow."
        return _preferences_page(app, subscriber_id, error=error, status=429)
    try:
        change.request_change(app, subscriber_id, address)
    except SignupError:
        raise prefs.UnknownSubscriber("this subscription no longer exists") from None
    notice = (
        f"We emailed {current} a link to approve the move to {address}. Once it is approved there, {address}"
        " gets a confirmation link, and the move applies when that is clicked. Until then nothing changes."
    )
    return _preferences_page(app, subscriber_id, notice=notice)


def _apply_preferences(app: App, subscriber_id: int, form: dict[str, list[str]]) -> HTMLResponse:
    if first(form, "action") == "change_email":
        return _change_email(app, subscriber_id, first(form, "email"))
    weeks = first(form, "pause_weeks")  # empty: leave a pause as it is
    try:
        prefs.set_preferences(
            app,
            subscriber_id,
            sections=form.get("sections"),
            pause_weeks=int(weeks) if weeks else None,
            newsletters=form.get("newsletters", []) if first(form, "newsletters_shown") else None,
        )
    except ValueError as exc:
        known = "pause" in str(exc) or "newsletter" in str(exc)
        message = str(exc) if known else f"pause_weeks must be a whole number, not {weeks!r}"
        return _preferences_page(app, subscriber_id, error=message, status=422)
    return _preferences_page(app, subscriber_id, notice="Saved.")


@router.post("/preferences/{token}")
async def save_preferences(token: str, request: fastapi.Request, app: AppDep) -> HTMLResponse:
    form = await read_form(request)
    try:
        subscriber_id = read_token(app.signing_key, PREFERENCES_SCOPE, token)
    except InvalidToken:
        return _message(app, "Preferences", BAD_LINK, 400)
    if form is None:
        return _message(app, "Preferences", "The request is too large.", 413)
    if not _csrf_ok(app, PREFERENCES_SCOPE, subscriber_id, form):
        return _message(app, "Preferences", EXPIRED_FORM, 403)
    try:
        return await run_in_threadpool(_apply_preferences, app, subscriber_id, form)
    except prefs.UnknownSubscriber:
        return _message(app, "Preferences", BAD_LINK, 400)


# --- sign-up -------------------------------------------------------------------------------------------


def _subscribe_page(
    app: App, *, error: str = "", email: str = "", name: str = "", status: int = 200
) -> HTMLResponse:
    context = {
        "error": error,
        "email": email,
        "name": name,
        "sections": app.settings.digest.sections,
        "newsletters": _newsletter_choices(app, None),
    }
    return _page(app, "subscribe", "Subscribe", status, **context)


@router.get("/subscribe")
async def subscribe_page(app: AppDep) -> HTMLResponse:
    return _subscribe_page(app)


@router.post("/subscribe")
async def subscribe(request: fastapi.Request, app: AppDep) -> HTMLResponse:
    """Queue a confirmation email. The answer, and the work behind it, are the same whether or not the
    address is known (:func:`~distro.services.signup.request_signup`)."""
    form = await read_form(request)
    if form is None:
        return _message(app, "Subscribe", "The request is too large.", 413)
    email, name = first(form, "email"), first(form, "name")
    done = "Check your inbox: we sent a link to confirm your subscription."
    if first(form, "website"):  # the honeypot: people never see it, form-filling bots do
        return _message(app, "Subscribe", done)
    client = request.client.host if request.client else "unknown"
    if not await run_in_threadpool(_signup_allowed, app, client, email):
        return _message(app, "Subscribe", "Too many sign-ups from here; try again in an hour.", 429)
    try:
        await run_in_threadpool(
            request_signup, app, email, name or None, form.get("sections"), form.get("newsletters")
        )
    except InvalidSubscriber as exc:
        return _subscribe_page(app, error=str(exc), email=email, name=name, status=422)
    return _message(app, "Subscribe", done)


@router.get("/confirm/{token}")
async def confirm_signup(token: str, app: AppDep) -> HTMLResponse:
    try:
        subscriber = await run_in_threadpool(confirm, app, token)
    except InvalidToken:
        return _message(app, "Confirm", BAD_LINK, 400)
    except SignupError as exc:
        return _message(app, "Confirm", str(exc), 410)
    return _message(app, "Confirmed", f"Thank you: {subscriber.email} is subscribed.")


# --- address change, approved from the current address --------------------------------------------------


def _change_page(app: App, found: change.PendingChange) -> HTMLResponse:
    return _page(
        app,
        "change_address",
        "Change address",
        current=found.current,
        new=found.new,
        approved=found.approved,
        csrf=found.csrf,
    )


@router.get("/change-address/{token}")
async def change_address_page(token: str, app: AppDep) -> HTMLResponse:
    """The approval link's page: approve or cancel buttons (a GET changes nothing; mail scanners follow
    links)."""
    try:
        return _change_page(app, await run_in_threadpool(change.pending_change, app, token))
    except InvalidToken:
        return _message(app, "Change address", BAD_LINK, 400)
    except SignupError as exc:
        return _message(app, "Change address", str(exc).capitalize() + ".", 410)


@router.post("/change-address/{token}")
async def change_address(token: str, request: fastapi.Request, app: AppDep) -> HTMLResponse:
    form = await read_form(request)
    if form is None:
        return _message(app, "Change address", "The request is too large.", 413)
    try:
        found = await run_in_threadpool(change.pending_change, app, token)
        if not change.form_ok(app, found, first(form, "csrf")):
            return _message(app, "Change address", EXPIRED_FORM, 403)
        if first(form, "action") == "cancel":
            await run_in_threadpool(change.cancel, app, token)
            return _message(app, "Change address", f"Cancelled: the subscription stays at {found.current}.")
        approved = await run_in_threadpool(change.approve, app, token)
        return _change_page(app, replace(approved, csrf=found.csrf))
    except InvalidToken:
        return _message(app, "Change address", BAD_LINK, 400)
    except SignupError as exc:
        return _message(app, "Change address", str(exc).capitalize() + ".", 410)
