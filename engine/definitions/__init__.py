"""What a deployment is: hardened XML parsing, the BPMN parser with the Camunda conventions
(both multi-instance forms, standard decision references, data stores, external tasks),
Camunda's JUEL in `${...}` translated once to the sandbox's Python, form-js forms as submission
checks, every check before a deploy (each finding with file, line and element id), deployment
versioned by content hash and the spec cache, due-date attributes, the escalation policy's and
the visibility declarations' properties, element labels, the lifecycle's stages, and decision
tables (FEEL translated at deploy, every hit policy).

May import: core, notify, lifecycle, scripting."""

# the modules web/ may import; the rest are this package's internals
__all__ = ['xmlsafe', 'forms', 'validation', 'deployment', 'elements', 'stages', 'escalation_policy']
