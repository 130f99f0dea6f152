"""The ground every other package stands on: the error vocabulary, the database and the one
transaction per command (`commands.execute`), the typed models, the engine clock and China's
working-day calendar, actors and their role groups, users, passwords, tokens, web sessions and the
sign-in throttle, single sign-on users from an identity provider's claims, what admins do to
accounts and the Excel import of users, the append-only audit log with the per-instance summary
row it keeps, and leases and set-wise statements for scheduler work, copying a whole database to
another (a trial's SQLite moved to PostgreSQL), people's and groups' names as readers see them,
bilingual "中文 · English" texts and their halves (bilingual), the request id work runs under (tracing), the engine's Prometheus instruments (meters) and the
bureau's printed layout for generated PDFs (pdf_layout).

May import: nothing else in engine/ (SQLAlchemy, the standard library and small libraries
only, prometheus-client and ReportLab among them)."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['errors', 'db', 'commands', 'models', 'clock', 'calendar', 'principals', 'users', 'passwords', 'sign_in', 'web_sessions', 'sso', 'audit', 'names', 'db_copy', 'user_admin', 'user_import', 'tracing', 'meters', 'pdf_layout', 'bilingual']
