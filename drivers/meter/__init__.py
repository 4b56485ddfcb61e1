"""meter drivers."""
