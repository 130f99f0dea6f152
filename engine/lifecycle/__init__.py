"""The bureau's domain rules for plan projects, as plain functions over their own tables:
organisations, the project register, the expert pool and its draws, score aggregation, the
integrity list, duplicate detection, credit records, change requests, who may apply
(eligibility) and project funds (budget tables, the funds ledger) (docs/lifecycle.md).
BPMN scripts reach them through scripting.script_services.

May import: core."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['organisations', 'projects', 'expert_pool', 'integrity', 'credit', 'changes', 'duplicates', 'scoring', 'eligibility', 'funds']
