"""The default names of the four roles of the role model (see `veza_db.roles`), kept apart from
it so that the command line can show them without loading the model."""

from __future__ import annotations

OWNER = "veza_owner"
APP = "veza_app"
READONLY = "veza_readonly"
CHAT = "veza_chat"
