"""The Flask CLI of the contract (`users`, `processes`, `scheduler`, `demo`) and the
supervisor console's commands (`supervisor ...`): each command parses its arguments and calls
engine services."""
from web.cli.commands import register_cli

__all__ = ["register_cli"]
