"""``python -m stratopt``: the same as the ``stratopt`` console script."""

from __future__ import annotations

from stratopt.cli import main

raise SystemExit(main())
