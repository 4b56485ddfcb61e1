"""pilot drivers."""
