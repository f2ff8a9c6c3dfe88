"""Offline evaluation: metrics on held-out periods and policy values."""
