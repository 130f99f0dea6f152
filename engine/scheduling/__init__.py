"""Time-driven work: one scheduler pass (due timers, reminders, escalation steps, quiet
instances, digests, SMTP delivery), the long-running APScheduler process and its heartbeat row.

May import: core, notify, lifecycle, scripting, definitions, runtime."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['scheduler', 'escalation', 'heartbeat']
