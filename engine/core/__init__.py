"""The ground every other package stands on: the error vocabulary, the database and the one
transaction per command (`commands.execute`), the typed models, the engine clock and China's
working-day calendar, actors and their role groups, users, passwords, tokens, web sessions and the
sign-in throttle, the append-only audit log with the per-instance summary row it keeps, and
leases and set-wise statements for scheduler work, people's and groups' names as readers see
them, the request id work runs under (tracing) and the engine's Prometheus instruments (meters).

May import: nothing else in engine/ (SQLAlchemy, the standard library and small libraries
only, prometheus-client among them)."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['errors', 'db', 'commands', 'models', 'clock', 'calendar', 'principals', 'users', 'passwords', 'sign_in', 'web_sessions', 'audit', 'names', 'tracing', 'meters']
