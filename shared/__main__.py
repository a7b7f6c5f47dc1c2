"""``python -m shared`` runs the same CLI as the ``chargeops`` console script."""

from shared.cli import main

raise SystemExit(main())
