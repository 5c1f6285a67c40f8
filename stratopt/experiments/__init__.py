"""Experiments as files: TOML configs, run folders and their reports."""
