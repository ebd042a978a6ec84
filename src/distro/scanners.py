"""Who fetched a tracked link or the open pixel: a person, or a machine acting before (or instead of) one.

Mail security gateways (Microsoft Defender Safe Links, Proofpoint, Mimecast, Barracuda, Cisco IronPort,
Symantec/Broadcom, Trend Micro, Sophos, Fortinet...), mailbox providers' proxies (Apple Mail Privacy
Protection, Gmail's image proxy) and link-preview bots fetch links and images that nobody clicked or
opened. Counting them would make every edition look read. These are the rules, pure and in one place so
the README can list them and tests can hold each one (:mod:`distro.services.clicks` applies them):

1. ``HEAD`` is never a click or an open: browsers follow a link with GET; checkers and scanners probe.
2. A user agent matching :data:`SCANNER_AGENTS` (a named product or a generic bot/library word), an empty
   one, or the bare ``Mozilla/5.0`` (no browser sends only that; Apple's Mail Privacy Protection proxy
   does) is a machine.
3. A macOS WebKit agent without a browser's own token (``Safari/``, ``Chrome/``, ``Firefox/``...) is Apple
   Mail's link preview fetching the page, not a person (a click in Mail opens the person's browser, which
   names itself). iOS in-app browsers look alike but say ``Mobile/``; they are people and are counted.
4. A burst: one visitor (same address, agent and edition) fetching :data:`BURST_LINKS` distinct links of
   an edition (or every link of an edition with fewer, if it has at least two) within
   ``tracking.scanner_burst_seconds`` is a scanner walking the message; those hits are discounted, even
   the ones already counted before the burst showed itself (:func:`is_burst`).
5. Opens only: an address in Apple's own network (17.0.0.0/8, where the Mail Privacy Protection proxy
   fetches from) or a mailbox provider's image proxy (:data:`IMAGE_PROXIES`) is a *machine open*: the
   mail reached a mailbox that preloads images, which says nothing about a person reading it.

Nothing here is fetched at run time (no egress list is downloaded): the rules are a documented
heuristic, conservative on purpose: a machine counted as a person inflates the figures, a person counted
as a machine only lowers them.
"""

from __future__ import annotations

import ipaddress
import re

BURST_LINKS = 3
APPLE_NETWORK = ipaddress.ip_network("17.0.0.0/8")  # Apple's own allocation (ARIN), MPP's prefetch proxies
# Substrings of user agents (case-insensitive), grouped by who sends them; keep each entry documented.
SCANNER_AGENTS: dict[str, tuple[str, ...]] = {
    "microsoft": (
        "bingpreview", "microsoft office", "ms-office", "msoffice", "microsoft-webdav", "safelinks",
    ),
    "mail security gateways": (
        "proofpoint", "mimecast", "barracuda", "ironport", "symantec", "broadcom", "messagelabs",
        "trend micro", "trendmicro", "sophos", "fortinet", "fortiguard", "forcepoint", "zscaler",
        "checkpoint", "vadesecure", "vade secure", "spamtitan", "hornetsecurity", "cloudmark", "urldefense",
    ),
    "mailbox providers": ("googleimageproxy", "google-safety", "yahoomailproxy", "ymailproxy"),
    "link previews": (
        "facebookexternalhit", "facebookcatalog", "twitterbot", "slackbot", "slack-imgproxy", "discordbot",
        "whatsapp", "telegrambot", "linkedinbot", "skypeuripreview", "mastodon/", "pleroma", "misskey",
        "akkoma", "cardyb", "bluesky", "iframely", "embedly", "redditbot", "pinterestbot", "applebot",
        "google web preview", "vkshare", "w3c_validator",
    ),
    "libraries and tools": (
        "python-requests", "python-urllib", "python-httpx", "aiohttp", "httpx/", "curl/", "wget/",
        "go-http-client", "okhttp", "java/", "apache-httpclient", "libwww-perl", "node-fetch", "axios/",
        "http.rb", "guzzlehttp", "headlesschrome", "phantomjs", "lighthouse", "urlscan", "virustotal",
    ),
}  # fmt: skip
IMAGE_PROXIES = ("googleimageproxy", "ggpht.com", "yahoomailproxy", "ymailproxy")
_SUBSTRINGS = tuple(word for words in SCANNER_AGENTS.values() for word in words)
# Generic words crawlers use; "bot" as a word ending, but not the phone maker Cubot ("CUBOT X20").
_GENERIC = re.compile(r"(?<!cu)bot\b|crawl|spider|scanner|preview|monitor|validator|fetcher", re.IGNORECASE)
_MAC_WEBKIT = re.compile(r"Macintosh.*AppleWebKit/", re.IGNORECASE)
_BROWSER_TOKENS = re.compile(r"\b(?:Safari|Chrome|Chromium|Firefox|Edg|OPR|Version)/", re.IGNORECASE)
BARE_MOZILLA = "mozilla/5.0"


def scanner_reason(user_agent: str | None) -> str | None:
    """Why ``user_agent`` is a machine (rules 2 and 3), or None for what looks like a person's browser."""
    agent = " ".join((user_agent or "").split())
    lowered = agent.lower()
    if not agent:
        return "no user agent"
    if lowered == BARE_MOZILLA:
        return "bare Mozilla/5.0 (Apple Mail Privacy Protection)"
    for group, words in SCANNER_AGENTS.items():
        for word in words:
            if word in lowered:
                return f"{group}: {word}"
    if match := _GENERIC.search(agent):
        return f"generic: {match[0].lower()}"
    if _MAC_WEBKIT.search(agent) and not _BROWSER_TOKENS.search(agent) and "mobile/" not in lowered:
        return "Apple Mail link preview (macOS WebKit without a browser)"
    return None


def machine_open_reason(user_agent: str | None, client_ip: str | None) -> str | None:
    """Why a pixel hit is a machine open (rules 2, 3 and 5), or None for what looks like a person's mail
    client showing the message."""
    lowered = (user_agent or "").lower()
    if any(proxy in lowered for proxy in IMAGE_PROXIES):
        return "mailbox provider's image proxy"
    if _in_apple_network(client_ip):
        return "Apple's network (Mail Privacy Protection)"
    return scanner_reason(user_agent)


def _in_apple_network(client_ip: str | None) -> bool:
    try:
        address = ipaddress.ip_address((client_ip or "").strip())
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address in APPLE_NETWORK


def is_burst(distinct_links: int, edition_links: int) -> bool:
    """Whether one visitor's ``distinct_links`` within the burst window make a burst (rule 4)."""
    if edition_links < 2:
        return False  # a single link cannot be walked
    return distinct_links >= min(BURST_LINKS, edition_links)
