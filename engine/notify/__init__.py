"""Telling people: in-app notifications and their unread counts, e-mail digests and the SMTP
outbox (delivered under a lease, exactly once), and the texts of both in Chinese and English.

May import: core."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['notifications', 'mailer', 'texts']
