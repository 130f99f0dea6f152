"""The workflow engine: deploys BPMN/DMN/form definitions and runs process instances on
SpiffWorkflow, persisting every change through SQLAlchemy in one transaction per command.

Nothing in this package imports Flask: the web app, the CLI, the scheduler, tests and
benchmarks all call the same engine commands (see engine/commands.py)."""
