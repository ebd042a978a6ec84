"""``distro social``: plan one post per new article and platform, hold, release, edit and send them."""

from __future__ import annotations

from typing import Annotated

import typer

from distro.cli.context import app, console
from distro.cli.reports import print_dispatch
from distro.errors import NotFound

group = typer.Typer(help="Plan and send one post per new article on each platform.", no_args_is_help=True)

DeliveryArg = Annotated[int | None, typer.Argument(help="The delivery id (see `distro log`).")]
ArticleOpt = Annotated[int | None, typer.Option("--article", help="Or: the article id ...")]
PlatformOpt = Annotated[str | None, typer.Option("--platform", help="... and the platform.")]
AccountOpt = Annotated[str | None, typer.Option("--account", help="Only this account's post.")]


@group.command("send")
def social_send(
    no_dispatch: Annotated[
        bool, typer.Option("--no-dispatch", help="Only queue; leave sending to workers.")
    ] = False,
) -> None:
    """Plan one post per new article for each enabled platform, then send them."""
    from distro.services.delivery import dispatch
    from distro.services.social import plan_social

    application = app()
    console.print(f"social: {plan_social(application)} new deliveries queued")
    if not no_dispatch:
        print_dispatch(dispatch(application, [c for c in application.enabled_channels() if c != "email"]))


def _post_ids(
    delivery_id: int | None, article: int | None, platform: str | None, account: str | None
) -> list[int]:
    from distro.services.plan import find_deliveries

    if delivery_id is not None:
        return [delivery_id]
    if article is None or platform is None:
        raise typer.BadParameter("give a DELIVERY_ID, or --article and --platform")
    found = find_deliveries(app().engine, article_id=article, platform=platform, account=account)
    if not found:
        raise NotFound(f"article {article} has no queued {platform} post; see `distro log`")
    return found


@group.command("hold")
def social_hold(
    delivery_id: DeliveryArg = None,
    article: ArticleOpt = None,
    platform: PlatformOpt = None,
    account: AccountOpt = None,
) -> None:
    """Hold a queued post back: it stays queued and no worker sends it until `distro social release`."""
    from distro.services.activity import cli_actor
    from distro.services.plan import hold

    ids = _post_ids(delivery_id, article, platform, account)
    console.print(f"held: {hold(app().engine, ids, actor=cli_actor())}")


@group.command("release")
def social_release(
    delivery_id: DeliveryArg = None,
    article: ArticleOpt = None,
    platform: PlatformOpt = None,
    account: AccountOpt = None,
) -> None:
    """Release a held post: it goes out at its account's next free slot (see posting plans)."""
    from distro.services.activity import cli_actor
    from distro.services.plan import release

    ids = _post_ids(delivery_id, article, platform, account)
    console.print(f"released: {release(app().engine, app().settings, ids, actor=cli_actor())}")


@group.command("edit")
def social_edit(
    article_id: Annotated[
        int | None, typer.Argument(help="The article (see `distro articles list`).")
    ] = None,
    platform: PlatformOpt = None,
    text: Annotated[
        str, typer.Option("--text", help="The post's new text, link included where it goes.")
    ] = "",
    account: AccountOpt = None,
    delivery: Annotated[
        int | None,
        typer.Option("--delivery", help="Or: the post's delivery id (a written post has no article)."),
    ] = None,
) -> None:
    """Replace a planned post's text before it is sent (checked against the platform's length rule)."""
    from distro.services.activity import cli_actor
    from distro.services.social import edit_delivery, edit_post

    if delivery is not None:
        edited = edit_delivery(app(), delivery, text, actor=cli_actor())
        console.print(f"the {edited} post of delivery {delivery} updated")
        return
    if article_id is None or platform is None:
        raise typer.BadParameter("give ARTICLE_ID and --platform, or --delivery")
    changed = edit_post(app(), article_id, platform, text, account)
    console.print(f"{changed} {platform} post(s) of article {article_id} updated")


@group.command("post")
def social_post(
    platform: Annotated[
        str, typer.Option("--platform", help="x, facebook, mastodon, bluesky, threads, linkedin.")
    ],
    text: Annotated[str, typer.Option("--text", help="What the post says (a link is added at its end).")],
    account: Annotated[
        str | None, typer.Option("--account", help="The account (default: the first).")
    ] = None,
    link: Annotated[str | None, typer.Option("--link", help="An announcement's link.")] = None,
    article: Annotated[
        str | None, typer.Option("--article", help="Repost this stored story: its id or URL.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help='Send time, "2026-12-02 09:00" in the desk\'s timezone (default: now).'),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option(
            "--key",
            help="Idempotency key (default: derived from the options, so a retry queues nothing new).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Queue without asking.")] = False,
) -> None:
    """Queue a post that is not from an article: an announcement, or a repost of an older story.

    It goes through the same outbox as articles' posts (hold, edit, release and post now apply); workers or
    `distro social send` send it at its time. A text that does not fit the platform is refused, never cut.
    """
    from distro.services.activity import cli_actor
    from distro.services.custom_posts import PostRequest, prepare, queue_prepared
    from distro.services.desk_clock import local_time

    application = app()
    request = PostRequest(platform, text, account, link, article, at, key)
    prepared = prepare(application, request)
    when = local_time(application.settings, prepared.send_at)
    where = f"{prepared.account.platform} ({prepared.account.name})"
    console.print(f"{where}, {prepared.length}/{prepared.limit}, at {when}:", highlight=False)
    console.print(prepared.text, markup=False, highlight=False)
    if not yes and not typer.confirm("Queue it?"):
        raise typer.Exit(1)
    queued = queue_prepared(application, prepared, actor=cli_actor())
    if queued.created:
        console.print(f"queued: delivery {queued.delivery_id}, goes out at {when}", highlight=False)
    else:
        console.print(
            f"already queued: delivery {queued.delivery_id} ({queued.status}, "
            f"{local_time(application.settings, queued.send_at)}); nothing added. "
            "Give --key to post it again.",
            highlight=False,
        )
