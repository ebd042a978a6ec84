"""Campaign tagging for links that leave distro (UTM parameters)."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit


def add_utm(url: str, *, source: str, medium: str, campaign: str) -> str:
    """``url`` with ``utm_source``, ``utm_medium`` and ``utm_campaign`` appended to its query.

    The existing query is kept byte for byte (order, encoding, blank values) and the fragment stays last.
    A utm parameter the URL already carries is left as it is, so an editor's own tagging wins. URLs that
    are not http(s) (``mailto:``, relative links) are returned unchanged.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    wanted = (("utm_source", source), ("utm_medium", medium), ("utm_campaign", campaign))
    extra = [(key, value) for key, value in wanted if key not in present]
    if not extra:
        return url
    added = urlencode(extra, quote_via=quote)
    kept = parts.query.rstrip("&")
    query = f"{kept}&{added}" if kept else added
    return urlunsplit(parts._replace(query=query))
