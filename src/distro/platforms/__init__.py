"""Each platform's own rules, pure: its limit, how it counts length, its request body and its facets.

One module per platform (``x``, ``facebook``, ``mastodon``, ``bluesky``, ``threads``, ``linkedin``), each
with ``LIMIT`` (or ``DEFAULT_LIMIT``), ``length`` and ``build_body``; :mod:`~distro.platforms.text` holds
what they share (the URL pattern, shortening at word boundaries). Compose builds posts with these and
channels check the bodies they send against them, so a dry run writes exactly what would be sent. Nothing
here does I/O or reads the database: these modules import only the standard library, pure text libraries
and distro's base.
"""
