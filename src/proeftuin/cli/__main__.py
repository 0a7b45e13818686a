"""`python -m proeftuin.cli`: the same command as `proeftuin`."""

from proeftuin.cli import main

main()
