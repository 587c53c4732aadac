"""The command-line sub-commands; ``muralstudio.cli`` parses arguments and calls these."""
