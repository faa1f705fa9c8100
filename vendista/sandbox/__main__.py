"""`python -m vendista.sandbox --port 8099`: the sandbox without Django."""

from __future__ import annotations

from vendista.sandbox.cli import main

raise SystemExit(main())
