"""``fcc`` subcommands of the theory wing (never import torch)."""
