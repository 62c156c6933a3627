"""Pseudonyms, redaction and disclosure control."""
