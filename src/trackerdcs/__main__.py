"""``python -m trackerdcs`` is the ``dcs`` command."""

from trackerdcs.cli.main import main

if __name__ == "__main__":
    main()
