"""Reading and writing: strict streaming CSV (``csv_reader``), Parquet and Arrow/Feather
(``columnar``: in by row group, out by extension), several inputs read as one table and a
model's columns found in an input (``inputs``), predictions as CSV/JSON Lines/columnar
(``predictions``), atomic outputs (``atomic``), and the versioned model file checked
against its shipped JSON Schema (``model_file``, ``model.schema.json``)."""
