"""distro: newly published articles -> weekly digest emails and social posts, with an honest delivery log."""

__version__ = "0.1.0"
