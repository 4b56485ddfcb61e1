"""iso15118 drivers."""
