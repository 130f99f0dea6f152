"""Imports every module that defines tables, so that `Base.metadata` is complete wherever the
whole schema matters (Alembic autogenerate, tests that empty every table). Add a line here when
a new module defines models."""
from __future__ import annotations

from . import models  # noqa: F401
from .models import Base

__all__ = ["Base"]
