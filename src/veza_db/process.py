"""Process-wide settings that only a program owning its process may turn on (the command line
does, in its entry point); a library caller's process is left as it is."""

from __future__ import annotations

# Whether building a large model may pause the cyclic garbage collector (catalog.expr).
pause_collector = False
