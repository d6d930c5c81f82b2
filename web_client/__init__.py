"""The browser application, served as static files by ``signaling``."""
