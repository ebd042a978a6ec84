"""``python -m distro.cli``: the same as the ``distro`` command (tests and workers start it so)."""

from distro.cli import main

main()
