"""The `orc` command line: parses arguments, calls the api layer, prints, maps errors to exit codes."""
