"""``python -m tui``: the ``livescribe`` command (:func:`tui.cli.main`)."""

from tui.cli import main

raise SystemExit(main())
