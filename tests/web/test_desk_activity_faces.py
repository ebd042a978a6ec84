"""The desk's existing forms (digest edit, schedule, send; social hold, release, post now, edit) write
the activity record under the signed-in editor, through the same use cases the CLI calls. SQLite only:
the use cases' records are tested on both databases in tests/test_activity_record.py.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient

from distro.app import App
from distro.models import Activity
from distro.services import plan
from distro.services.ingest import ingest
from distro.services.social import plan_social
from distro.web.app import create_web_app
from tests.web.desk import EDITOR, signed_in
from tests.web.test_desk_digest import edition_of

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ME = f"editor:{EDITOR}"


def recorded(app: App) -> list[tuple[str, str, str]]:
    with app.engine.connect() as connection:
        query = sa.select(Activity.actor, Activity.action, Activity.subject).where(
            Activity.action.not_in(["signin", "editor.add"])  # type: ignore[attr-defined]
        )
        return [tuple(r) for r in connection.execute(query.order_by(sa.column("id")))]  # type: ignore[misc]


def test_digest_forms_are_recorded_under_the_editor(app: App, clock: time_machine.Traveller) -> None:
    app.settings.x.enabled = app.settings.facebook.enabled = False
    ingest(app)
    with TestClient(create_web_app(app)) as client:
        csrf = signed_in(app, client, "/desk/digest", role="editor")
        slug = edition_of(client.get("/desk/digest").text)
        base = {"csrf_token": csrf, "newsletter": "", "edition": slug}
        assert (
            client.post("/desk/digest/edit", data={**base, "intro": "Hi", "max_stories": "4"}).status_code
            == 200
        )
        client.post("/desk/digest/schedule", data={**base, "send_at": "2026-11-30T06:30"})
        client.post("/desk/digest/unschedule", data=base)
        client.post("/desk/digest/send", data=base)
    assert recorded(app) == [
        (ME, "edition.edit", f"edition {slug}"),
        (ME, "edition.schedule", f"edition {slug}"),
        (ME, "edition.unschedule", f"edition {slug}"),
        (ME, "edition.send", f"edition {slug}"),
    ]


def test_social_forms_are_recorded_under_the_editor(app: App, clock: time_machine.Traveller) -> None:
    ingest(app, backfill=2)
    plan_social(app)
    post = plan.find_deliveries(app.engine, article_id=1, platform="facebook")[0]
    with TestClient(create_web_app(app)) as client:
        csrf = signed_in(app, client, "/desk/social", role="editor")
        for verb, fields in (
            ("edit", {"text": "A new text"}),
            ("hold", {}),
            ("release", {}),
            ("post-now", {}),
        ):
            client.post(f"/desk/social/{post}/{verb}", data={"csrf_token": csrf, **fields})
    assert recorded(app) == [
        (ME, "post.edit", f"post {post}"),
        (ME, "post.hold", f"post {post}"),
        (ME, "post.release", f"post {post}"),
        (ME, "post.now", f"post {post}"),
    ]
