"""Channels: one module per destination, each behind the small protocol in :mod:`distro.channels.base`."""
