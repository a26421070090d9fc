"""The ``icp-bot`` commands, one module per family; ``bot.cli`` imports a module only when
one of its commands runs, so that ``icp-bot report`` never loads Slack or the database."""
