"""The bureau's domain rules for plan projects, as plain functions over their own tables:
organisations, the project register, the expert pool and its draws, score aggregation, the
integrity list, duplicate detection, credit records, change requests, who may apply
(eligibility), the undertaking unit's quota and a project's routing (units), calls for
proposals (calls), a call's batch review by discipline panels
(batch_review), its ranked funding proposal within each category's budget and decisions (batches)
and the documents printed from it (batch_documents), and project funds (budget tables, the funds ledger: funds, funds_documents)
(docs/lifecycle.md).
BPMN scripts reach them through scripting.script_services.

May import: core."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['organisations', 'projects', 'expert_pool', 'integrity', 'credit', 'changes', 'duplicates', 'scoring', 'eligibility', 'batches', 'batch_documents', 'calls', 'units', 'funds', 'funds_documents']
