"""gpio drivers."""
