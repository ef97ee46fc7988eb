"""The archive on disk: its layout (files.py) and the SQLite catalog (catalog.py)."""
