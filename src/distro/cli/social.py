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
    from distro.services.plan import hold

    ids = _post_ids(delivery_id, article, platform, account)
    console.print(f"held: {hold(app().engine, ids)}")


@group.command("release")
def social_release(
    delivery_id: DeliveryArg = None,
    article: ArticleOpt = None,
    platform: PlatformOpt = None,
    account: AccountOpt = None,
) -> None:
    """Release a held post: it goes out at its account's next free slot (see posting plans)."""
    from distro.services.plan import release

    ids = _post_ids(delivery_id, article, platform, account)
    console.print(f"released: {release(app().engine, app().settings, ids)}")


@group.command("edit")
def social_edit(
    article_id: Annotated[int, typer.Argument(help="The article (see `distro articles list`).")],
    platform: Annotated[str, typer.Option("--platform", help="x, facebook, mastodon or bluesky.")],
    text: Annotated[str, typer.Option("--text", help="The post's new text, link included where it goes.")],
    account: AccountOpt = None,
) -> None:
    """Replace a planned post's text before it is sent (checked against the platform's length rule)."""
    from distro.services.social import edit_post

    changed = edit_post(app(), article_id, platform, text, account)
    console.print(f"{changed} {platform} post(s) of article {article_id} updated")
