"""The ``medsynth`` command line."""
