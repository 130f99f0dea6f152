"""The workflow engine: deploys BPMN/DMN/form definitions and runs process instances on
SpiffWorkflow, persisting every change through SQLAlchemy in one transaction per command.

Nothing in this package imports Flask: the web app, the CLI, the scheduler, tests and
benchmarks all call the same engine services (see engine/core/commands.py).

The packages, each owning one concern, in layers: a package imports only the packages before
it in LAYERS (tests/test_architecture.py checks this, and that no modules import each other in
a cycle). `schema` gathers every table for migrations and tests."""

LAYERS = ("core", "notify", "lifecycle", "scripting", "definitions", "runtime", "scheduling",
          "workspace", "supervision", "designer", "demo")
