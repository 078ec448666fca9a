"""Performance measurements of the L2 platform (see bench/README.md); run through bench/run.py."""
