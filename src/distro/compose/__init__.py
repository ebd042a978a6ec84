"""Turning articles into messages: the weekly digest (``digest``, ``message``), social posts, links.

Import from the submodules (``distro.compose.digest``, ``distro.compose.message``, ...); this package
imports nothing itself, so using one part does not load the MJML and premailer machinery of another.
"""
