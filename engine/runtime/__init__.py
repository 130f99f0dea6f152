"""Running instances: start, fire timers, suspend, resume, terminate, retry; claim, release,
assign, complete; SpiffWorkflow's engine steps with BPMN failures turned into instance errors; the
workflow state document and the finished tasks stored once; the human-task projection the inbox
reads; assignment and due dates of user tasks; the quiet-instance watch; and who may see what of
an instance (access), which every page and API answer asks; how and why an ended instance
ended (outcome); messages, signals and external tasks from other systems, with their
projections (subscriptions, worker_tasks).

May import: core, notify, lifecycle, scripting, definitions."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['instances', 'tasks', 'access', 'outcome', 'messages', 'external_tasks']
