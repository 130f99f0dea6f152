"""The supervisor console's engine services: what needs attention (errors, overdue and
unassignable tasks, quiet instances, late timers), the queues of the API, the dashboard's figures,
an instance's full inspection, interventions with a reason (one at a time or in bulk over a
selection), exports and the archive of long-ended instances, and what operations watch
(readiness, the figures of /metrics, the schedulers' heartbeats).

May import: every package below it (core to workspace)."""

# the modules web/ may import; the rest are this package's internals
__all__ = ["instance_detail", 'attention', 'queues', 'dashboard', 'inspection', 'interventions', 'selection', 'exports', 'archive', 'operations', 'spot_checks']
