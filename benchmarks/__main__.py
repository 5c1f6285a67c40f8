"""``python -m benchmarks``: the peer benchmark; ``--help`` lists its options."""

from benchmarks.peers.run import main

raise SystemExit(main())
