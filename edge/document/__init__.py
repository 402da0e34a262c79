"""Reading and authenticating ICAO 9303 documents (identity cards, passports) over PC/SC."""
