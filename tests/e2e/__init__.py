"""End to end: the command line, whole processes, golden outputs."""
