"""Reading and writing files: raw tables, REFI-QDA projects, EES statistics, parquet."""
