"""The bureau's domain rules for plan projects, as plain functions over their own tables:
organisations, the project register, the expert pool and its draws, score aggregation, the
integrity list, duplicate detection, credit records, change requests and who may apply
(eligibility), the undertaking unit's quota and a project's routing (units) (docs/lifecycle.md).
BPMN scripts reach them through scripting.script_services.

May import: core."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['organisations', 'projects', 'expert_pool', 'integrity', 'credit', 'changes', 'duplicates', 'scoring', 'eligibility', 'units']
