"""trailkeeper: a self-hosted, verifiable audit log service."""

__version__ = "0.1.0"
