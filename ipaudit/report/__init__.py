"""Output formats: every formatter returns a str and never prints."""
