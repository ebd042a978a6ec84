"""What each change writes to the activity record, through the use cases every face calls, on SQLite and
PostgreSQL: editions (edit, schedule, send, archive), social posts (hold, release), subscribers (add,
import, suppress, unsuppress, forget). A forgotten reader's address leaves the record too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
import time_machine

from distro.app import App
from distro.models import Activity
from distro.services import plan
from distro.services.archive import set_archived
from distro.services.digest_edit import EditChanges, save_edit
from distro.services.digest_schedule import schedule, unschedule
from distro.services.digest_send import send_edition
from distro.services.ingest import ingest
from distro.services.privacy import forget_subscriber, forgotten_tag
from distro.services.social import plan_social
from distro.services.subscribers import add_subscriber, import_csv
from distro.services.suppression import suppress, unsuppress
from tests.conftest import FRIDAY

ED = "editor:ed@meridian-review.example"


def recorded(app: App) -> list[tuple[str, str, str, str]]:
    with app.engine.connect() as connection:
        query = sa.select(Activity.actor, Activity.action, Activity.subject, Activity.detail)
        return [tuple(r) for r in connection.execute(query.order_by(sa.column("id")))]  # type: ignore[misc]


def test_edition_changes_are_recorded_with_their_actor(app: App, clock: time_machine.Traveller) -> None:
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    add_subscriber(app, "reader@example.org")  # no actor: the caller records for itself, nothing here
    newsletter = app.settings.digest
    save_edit(app, newsletter, EditChanges(intro="Hello", max_stories=3), actor=ED)
    schedule(app, "weekly-2026-W48", FRIDAY + timedelta(hours=3), actor=ED)
    assert unschedule(app, "weekly-2026-W48", actor="cli:ana")
    assert not unschedule(app, "weekly-2026-W48", actor="cli:ana")  # nothing changed: nothing recorded
    set_archived(app, "weekly-2026-W48", False, actor="api:deploy")
    send_edition(app, newsletter, confirm=lambda ready: False, actor=ED)  # declined: nothing queued
    send_edition(app, newsletter, actor=ED)
    assert recorded(app) == [
        (ED, "edition.edit", "edition weekly-2026-W48", "intro, at most 3 stories"),
        (ED, "edition.schedule", "edition weekly-2026-W48", "at 2026-11-27 15:00 GMT"),
        ("cli:ana", "edition.unschedule", "edition weekly-2026-W48", "the usual time"),
        ("api:deploy", "edition.archive", "edition weekly-2026-W48", "kept out of the archive"),
        (ED, "edition.send", "edition weekly-2026-W48", "1 new rows queued, 1 readers"),
    ]


def test_holding_and_releasing_posts_is_recorded(app: App, clock: time_machine.Traveller) -> None:
    ingest(app)
    plan_social(app)
    first = plan.find_deliveries(app.engine, article_id=1, platform="facebook")
    assert plan.hold(app.engine, first, actor=ED) == 1
    assert plan.hold(app.engine, first, actor=ED) == 0  # already held: nothing recorded
    assert plan.release(app.engine, app.settings, first, now=FRIDAY, actor="cli:ana") == 1
    assert recorded(app) == [
        (ED, "post.hold", f"post {first[0]}", ""),
        ("cli:ana", "post.release", f"post {first[0]}", "at 2026-11-27 12:00 GMT"),
    ]


def test_subscriber_changes_are_recorded_and_forgetting_scrubs_the_address(app: App, tmp_path: Path) -> None:
    add_subscriber(app, "Ana@Example.org", "Ana", actor=ED)
    listing = tmp_path / "list.csv"
    listing.write_text("email,name\nbo@example.org,Bo\nnot an address,X\n", encoding="utf-8")
    report = import_csv(app, listing, actor="cli:ana", name="readers.csv")
    assert report.added == 1 and [line for line, _ in report.rejected] == [3]
    assert suppress(app.engine, "bo@example.org", "manual", "asked by phone", actor=ED)
    assert not suppress(app.engine, "bo@example.org", "manual", actor=ED)  # already there
    suppress(app.engine, "cy@example.org", "hard_bounce")  # a bounce, not an editor: not recorded
    assert unsuppress(app.engine, "bo@example.org", actor=ED)
    forget_subscriber(app, "ana@example.org", actor=ED)
    tag = forgotten_tag(app, "ana@example.org")
    rows = recorded(app)
    assert rows == [
        (ED, "subscriber.create", f"subscriber {tag}", ""),
        ("cli:ana", "subscriber.import", "file readers.csv", "1 added, 0 already known, 1 lines rejected"),
        (ED, "suppression.add", "suppression bo@example.org", "manual: asked by phone"),
        (ED, "suppression.remove", "suppression bo@example.org", ""),
        (ED, "subscriber.forget", f"subscriber {tag}", "forgotten"),
    ]
    assert "ana@" not in str(rows).lower()
