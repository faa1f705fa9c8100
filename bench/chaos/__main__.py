"""`python -m bench.chaos`: see bench/chaos/run.py."""

from __future__ import annotations

from bench.chaos.run import main

raise SystemExit(main())
