from beads_orchestrator.cli import main

raise SystemExit(main())
