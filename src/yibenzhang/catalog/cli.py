"""`ybz catalog …` commands (being built: import and export)."""

from __future__ import annotations

import typer

catalog_app = typer.Typer(help="The catalogue: import, export.", no_args_is_help=True)
