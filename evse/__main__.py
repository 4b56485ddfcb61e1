"""`python -m evse` is the `evse` command (the daemon re-executes itself this way on Reset)."""

from evse.cli import main

raise SystemExit(main())
