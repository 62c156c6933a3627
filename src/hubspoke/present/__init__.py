"""Showing results: notebook display and charts."""
