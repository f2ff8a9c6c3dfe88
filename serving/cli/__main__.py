"""``python -m serving.cli``: the ``symbiose`` command."""

from serving.cli import main

main()
