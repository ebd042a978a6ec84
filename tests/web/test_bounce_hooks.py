"""``POST /hooks/bounces/<provider>`` end to end on SQLite and PostgreSQL: a genuine call (signed with keys
the tests generate, in the providers' documented shapes) suppresses or unsubscribes; a forged, stale or
replayed one is refused and changes nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from fastapi.testclient import TestClient
from pydantic import SecretStr

from distro.app import App
from distro.feedback.providers.sns_certs import forget_certificates
from distro.services.subscribers import add_subscriber
from distro.services.suppression import suppressed_among
from distro.web.app import create_web_app
from tests.feedback.test_providers import (
    MAILGUN_KEY,
    SENDGRID_PUBLIC,
    batch_body,
    mailgun_body,
    sample,
    sendgrid_headers,
)
from tests.feedback.test_providers_sns import CERT_URL, TOPIC, Fetcher, Pki, genuine

READERS = ["gone@example.com", "filtered@example.org", "annoyed@example.com", "happy@example.net"]


@pytest.fixture
def client(app: App, clock: time_machine.Traveller) -> Iterator[TestClient]:
    for email in READERS + ["nobody@example.com", "gone@example.net", "gone.reader@example.net"]:
        add_subscriber(app, email)
    with TestClient(create_web_app(app)) as test_client:
        yield test_client


def suppressed(app: App) -> dict[str, str]:
    return suppressed_among(
        app.engine, READERS + ["nobody@example.com", "gone@example.net", "gone.reader@example.net"]
    )


def test_postmark_with_basic_auth_suppresses_and_a_wrong_password_changes_nothing(
    app: App, client: TestClient
) -> None:
    app.settings.bounces.postmark_username = "distro"
    app.settings.bounces.postmark_password = SecretStr("correct horse")
    body = json.dumps(sample("postmark_bounce.json"))
    forged = client.post("/hooks/bounces/postmark", content=body, auth=("distro", "wrong"))
    assert forged.status_code == 401 and suppressed(app) == {}
    answer = client.post("/hooks/bounces/postmark", content=body, auth=("distro", "correct horse"))
    assert answer.status_code == 200, answer.text
    assert [e["action"] for e in answer.json()["events"]] == ["suppressed"]
    assert suppressed(app) == {"nobody@example.com": "hard_bounce"}


def test_postmark_with_the_secret_path(app: App, client: TestClient) -> None:
    app.settings.bounces.postmark_path_secret = SecretStr("s3cret-path-segment")
    body = json.dumps(sample("postmark_spam_complaint.json"))
    assert client.post("/hooks/bounces/postmark/guess", content=body).status_code == 401
    answer = client.post("/hooks/bounces/postmark/s3cret-path-segment", content=body)
    assert answer.status_code == 200 and suppressed(app) == {"annoyed@example.com": "complaint"}


def test_mailgun_signed_call_counts_and_its_replay_is_refused(app: App, client: TestClient) -> None:
    app.settings.bounces.mailgun_signing_key = SecretStr(MAILGUN_KEY)
    body = mailgun_body("mailgun_failed_permanent.json")
    tampered = body.replace(b"Gone@Example.net", b"happy@example.net")
    assert client.post("/hooks/bounces/mailgun", content=tampered).status_code == 200  # see below
    # The signature covers only timestamp and token (Mailgun's design): the tampered copy used the token,
    # so the genuine call carrying it is now a replay and is refused.
    assert client.post("/hooks/bounces/mailgun", content=body).status_code == 409
    fresh = mailgun_body("mailgun_failed_permanent.json")
    assert client.post("/hooks/bounces/mailgun", content=fresh).status_code == 200
    assert client.post("/hooks/bounces/mailgun", content=fresh).status_code == 409
    assert suppressed(app)["gone@example.net"] == "hard_bounce"
    unsigned = json.dumps(sample("mailgun_complained.json")).encode()
    assert client.post("/hooks/bounces/mailgun", content=unsigned).status_code == 401


def test_sendgrid_signed_batch_and_forgeries(app: App, client: TestClient) -> None:
    app.settings.bounces.sendgrid_public_key = SENDGRID_PUBLIC
    body = batch_body()
    headers = sendgrid_headers(body)
    forged = dict(headers, **{"X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(b"x" * 64).decode()})
    assert client.post("/hooks/bounces/sendgrid", content=body, headers=forged).status_code == 401
    assert client.post("/hooks/bounces/sendgrid", content=body + b" ", headers=headers).status_code == 401
    assert suppressed(app) == {}
    answer = client.post("/hooks/bounces/sendgrid", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert suppressed(app) == {"gone@example.com": "hard_bounce", "annoyed@example.com": "complaint"}
    assert client.post("/hooks/bounces/sendgrid", content=body, headers=headers).status_code == 409


def test_ses_through_sns_verified_against_a_test_ca(app: App, client: TestClient, tmp_path: Any) -> None:
    forget_certificates()
    pki = Pki(tmp_path)
    fetcher = Fetcher({CERT_URL: pki.chain()})
    app.http_get = fetcher
    app.settings.bounces.ses_topic_arns = [TOPIC]
    app.settings.bounces.sns_ca_file = pki.ca_file
    call = genuine(pki)
    forged = dict(call, Message=call["Message"].replace("old@example.org", "happy@example.net"))
    assert client.post("/hooks/bounces/ses", content=json.dumps(forged)).status_code == 401
    answer = client.post("/hooks/bounces/ses", content=json.dumps(call))
    assert answer.status_code == 200, answer.text
    assert suppressed(app) == {"gone.reader@example.net": "hard_bounce"}  # old@example.org is no subscriber
    assert fetcher.calls == [CERT_URL]  # fetched once, for the forged and the genuine call alike
    (tmp_path / "other").mkdir()
    stranger = Pki(tmp_path / "other")  # a certificate from a CA nobody trusts
    forget_certificates()
    app.http_get = Fetcher({CERT_URL: stranger.chain()})
    assert client.post("/hooks/bounces/ses", content=json.dumps(genuine(stranger))).status_code == 401
    forget_certificates()


def test_an_sns_subscription_is_confirmed_by_fetching_its_url(
    app: App, client: TestClient, tmp_path: Any
) -> None:
    forget_certificates()
    pki = Pki(tmp_path)
    confirmation = genuine(pki, "sns_subscription_confirmation.json")
    fetcher = Fetcher(
        {CERT_URL: pki.chain(), confirmation["SubscribeURL"]: b"<ConfirmSubscriptionResponse/>"}
    )
    app.http_get = fetcher
    app.settings.bounces.ses_topic_arns = [TOPIC]
    app.settings.bounces.sns_ca_file = pki.ca_file
    answer = client.post("/hooks/bounces/ses", content=json.dumps(confirmation))
    assert answer.status_code == 200 and answer.json()["confirmed"] is True
    assert fetcher.calls[-1] == confirmation["SubscribeURL"]
    forget_certificates()


def test_unknown_and_unconfigured_providers(client: TestClient) -> None:
    assert client.post("/hooks/bounces/sparkpost", content=b"{}").status_code == 404
    for provider in ("ses", "postmark", "mailgun", "sendgrid"):
        assert client.post(f"/hooks/bounces/{provider}", content=b"{}").status_code == 503, provider
