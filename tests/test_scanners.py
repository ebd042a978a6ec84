"""The scanner rules of :mod:`distro.scanners`, one table per rule: who is a machine, who is a person."""

from __future__ import annotations

import pytest

from distro.scanners import SCANNER_AGENTS, is_burst, machine_open_reason, scanner_reason

# Real user agents of people's browsers and mail apps (clicks from these count).
PEOPLE = {
    "Chrome on Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36",
    "Edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.61",
    "Safari on macOS": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.1 Safari/605.1.15",
    "Firefox on macOS": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 "
    "Firefox/120.0",
    "Safari on iPhone": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
    "an iOS in-app browser (Gmail)": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Chrome on Android": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.43 Mobile Safari/537.36",
    "a Cubot phone (not a bot)": "Mozilla/5.0 (Linux; Android 9; CUBOT X20 PRO) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36",
    "Firefox on Linux": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
}

# Scanners, proxies and bots as they name themselves (rule 2), and Apple Mail's link preview (rule 3).
MACHINES = {
    "no user agent": "",
    "Apple Mail Privacy Protection": "Mozilla/5.0",
    "Apple Mail link preview": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko)",
    "BingPreview (Outlook.com, Safe Links)": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) BingPreview/1.0b",
    "Microsoft Office link preview": "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook "
    "16.0.17029; Pro)",
    "Microsoft Office Existence Discovery": "Microsoft Office Existence Discovery",
    "Proofpoint": "Mozilla/5.0 (compatible; Proofpoint URL Defense)",
    "Mimecast": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Mimecast/1.0",
    "Barracuda": "Barracuda Sentinel (EE)",
    "Cisco IronPort": "Cisco-IronPort-WSA/11.8",
    "Symantec": "Mozilla/5.0 (compatible; Symantec Email Security.cloud)",
    "Broadcom": "Broadcom Messaging Gateway",
    "Trend Micro": "TrendMicro-URL-Scan/1.0",
    "Sophos": "Mozilla/5.0 (compatible; Sophos Email Security)",
    "Fortinet": "FortiGuard (Fortinet URL rating)",
    "Gmail's image proxy": "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com "
    "GoogleImageProxy)",
    "Googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Facebook's preview": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot": "Twitterbot/1.0",
    "a Mastodon instance's preview": "http.rb/5.1.1 (Mastodon/4.2.1; +https://mastodon.social/)",
    "Bluesky's card fetcher": "Mozilla/5.0 (compatible; Bluesky Cardyb/1.1; +mailto:support@bsky.app)",
    "Slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "python-requests": "python-requests/2.31.0",
    "curl": "curl/8.4.0",
    "wget": "Wget/1.21.4",
    "Go": "Go-http-client/1.1",
    "a generic crawler": "SomeCrawler/3.0 (+https://example.org/crawler)",
    "headless Chrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36",
}


@pytest.mark.parametrize("agent", PEOPLE.values(), ids=PEOPLE.keys())
def test_peoples_browsers_are_people(agent: str) -> None:
    assert scanner_reason(agent) is None
    assert machine_open_reason(agent, "198.51.100.7") is None


@pytest.mark.parametrize("agent", MACHINES.values(), ids=MACHINES.keys())
def test_scanners_proxies_and_bots_are_machines(agent: str) -> None:
    assert scanner_reason(agent) is not None
    assert machine_open_reason(agent, "198.51.100.7") is not None  # a machine's open is a machine open


@pytest.mark.parametrize("word", [w for words in SCANNER_AGENTS.values() for w in words])
def test_every_listed_word_is_matched_in_any_case(word: str) -> None:
    agent = f"Mozilla/5.0 (Windows NT 10.0) {word.upper()} Chrome/120.0 Safari/537.36"
    assert scanner_reason(agent) is not None


@pytest.mark.parametrize(
    ("client_ip", "machine"),
    [
        ("17.58.101.2", True),  # Apple's network: the Mail Privacy Protection proxy
        ("::ffff:17.58.101.2", True),  # the same, as an IPv4-mapped IPv6 address
        ("17.255.255.255", True),
        ("18.0.0.1", False),
        ("198.51.100.7", False),
        ("2001:db8::1", False),
        ("testclient", False),  # not an address: no rule applies
        ("", False),
    ],
)
def test_opens_from_apples_network_are_machine_opens(client_ip: str, machine: bool) -> None:
    apple_mail = PEOPLE["an iOS in-app browser (Gmail)"]  # Apple Mail on iOS shows images with it too
    assert (machine_open_reason(apple_mail, client_ip) is not None) is machine
    assert scanner_reason(apple_mail) is None  # clicks are judged by the agent only


def test_image_proxies_are_machine_opens_from_anywhere() -> None:
    for agent in ("Mozilla/5.0 (via ggpht.com GoogleImageProxy)", "YahooMailProxy; https://help.yahoo.com"):
        assert machine_open_reason(agent, "198.51.100.7") is not None


@pytest.mark.parametrize(
    ("distinct", "edition_links", "burst"),
    [
        (3, 12, True),  # three distinct links of a long edition
        (2, 12, False),  # two: a person opening two stories quickly
        (12, 12, True),
        (2, 2, True),  # every link of an edition with two
        (1, 2, False),
        (1, 1, False),  # a single link cannot be walked
        (0, 0, False),
    ],
)
def test_a_burst_is_three_distinct_links_or_every_link(
    distinct: int, edition_links: int, burst: bool
) -> None:
    assert is_burst(distinct, edition_links) is burst
