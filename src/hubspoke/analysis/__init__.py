"""Numbers from processed tables: processed frames in, result frames out."""
