"""Altavoz: a self-hosted relationship CRM for the people who speak for a brand."""

__version__ = "0.1.0"
