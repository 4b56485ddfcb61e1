"""Displays for the driver: an HD44780 character LCD behind a PCF8574 I2C backpack."""
