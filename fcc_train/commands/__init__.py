"""``fcc`` subcommands of the trainer wing."""
