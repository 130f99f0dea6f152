"""Demo data and simulation: the demo organisations, users, expert pool and projects in every
stage, and the playback that moves instances forward in engine time (make run, bench/).

May import: every package below it."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['demo_data', 'playback', 'batch_review_demo']
