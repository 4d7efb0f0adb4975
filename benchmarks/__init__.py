"""Speed figures for `make bench`: each one a ratio against a reference run in the same process."""
