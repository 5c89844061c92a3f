"""Pure rules of the telephony domain: no I/O, no framework."""
