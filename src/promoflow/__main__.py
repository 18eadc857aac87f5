"""`python -m promoflow` runs the command line."""

from promoflow.console.cli import main

main()
