"""`python -m sandboxes.vendista --port 8099`: the sandbox with the demo accounts."""

from __future__ import annotations

from sandboxes.vendista.cli import main

raise SystemExit(main())
