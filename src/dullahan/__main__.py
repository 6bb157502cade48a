from dullahan.cli import main

raise SystemExit(main())
