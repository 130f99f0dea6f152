"""The process designer's engine services: drafts of BPMN, DMN and form files, the catalogue of
deployed versions, the comparison of two versions, instance migration between versions, test runs
that never touch real instances, and bpmnlint's advice.

May import: every package below it (core to supervision)."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['process_drafts', 'process_versions', 'version_compare', 'migration', 'trial_runs']
