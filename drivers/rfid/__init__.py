"""rfid drivers."""
