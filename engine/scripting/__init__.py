"""Running what process designers write: the RestrictedPython sandbox that compiles and bounds
scripts and expressions, the worker processes with CPU and memory limits where anything unbounded
runs, SpiffWorkflow's script engine on top of both, and the script services, the fixed list of
domain functions a script may call, working in the running command's transaction.

May import: core, notify, lifecycle."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['sandbox']
