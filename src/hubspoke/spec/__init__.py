"""The data contracts: raw tables, vocabularies, processed schemas, dictionaries."""
