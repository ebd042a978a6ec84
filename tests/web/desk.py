"""Signing in to the desk through its real pages, for every desk test (TestClient or httpx)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from distro.app import App
from distro.services.editors import add_editor

EDITOR = "editor@meridian-review.example"
PASSWORD = "correct horse battery staple"


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} field in:\n{html[:2000]}"
    return found.group(1)


def csrf_of(html: str) -> str:
    return field(html, "csrf_token")


def login(client: TestClient, email: str = EDITOR, password: str = PASSWORD, next_url: str = "/desk"):  # type: ignore[no-untyped-def]
    """Fetch the sign-in form (its double-submit cookie) and post it; returns the response (not followed)."""
    page = client.get("/desk/login", params={"next": next_url})
    return client.post(
        "/desk/login",
        data={
            "email": email,
            "password": password,
            "login_csrf": field(page.text, "login_csrf"),
            "next": next_url,
        },
        follow_redirects=False,
    )


def signed_in(app: App, client: TestClient, page: str = "/desk", *, role: str = "admin") -> str:
    """Create the editor (an admin unless told), sign in, open ``page``; returns the session's CSRF token
    from that page's forms."""
    add_editor(app, EDITOR, PASSWORD, role=role)
    response = login(client, next_url=page)
    assert response.status_code == 303, response.text
    opened = client.get(page, follow_redirects=False)
    assert opened.status_code == 200, (opened.status_code, opened.headers.get("location"))
    return csrf_of(opened.text)
