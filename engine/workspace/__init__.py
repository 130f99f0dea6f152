"""What the people's pages read and write: the inbox and its saved filters, substitutes,
follow-up dates, comments and attachments, application drafts, the applicant's applications and
their progress, the notification centre, requests to register an organisation, calls for proposals (publishing, extending, applying under one), the history
of an instance as each reader may see it, and a project's documents (task contract, recovery notice).

May import: core, notify, lifecycle, scripting, definitions, runtime, scheduling."""

# the modules web/ may import; the rest are this package's internals
__all__ = ["inbox_page", "applicant_page", "task_page", "instance_page", 'inbox', 'saved_filters', 'substitutes', 'follow_up', 'comments', 'attachments', 'application_drafts', 'applications', 'history', 'progress', 'notification_centre', 'organisation_requests', 'call_desk', 'project_documents']
