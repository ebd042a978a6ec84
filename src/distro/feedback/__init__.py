"""What comes back after a message left: bounces (DSNs and non-standard bounce texts), complaints (ARF
feedback reports) and ESP webhook events, each read into a :class:`~distro.feedback.report.Feedback`.

Pure readers and verifiers plus the two listeners (LMTP, IMAP) that hand raw messages on; what an event
does to the suppression list and the subscriber is decided in :mod:`distro.services.bounces`.
"""
