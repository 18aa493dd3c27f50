"""Catalogues of scenarios, one per experiment, named as the command that runs it."""
