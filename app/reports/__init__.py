"""Reports and their exports: aggregate queries that return DataFrames, and the XLSX writer."""
