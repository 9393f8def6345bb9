"""The package's version, in one small module every part can import."""

__version__ = "0.1.0.dev0"
