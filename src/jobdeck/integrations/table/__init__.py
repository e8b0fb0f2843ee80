"""A jobs table an application already writes (`background_jobs` and the like), read as runs.

`mapping.py` says which columns and status words mean what (the seed schema by default, or a TOML
file), `reader.py` reads the table without ever writing to it, `rows.py` turns rows into events, and
`source.py` is the poll: a watermark over the timestamps plus every row still open, as a loop of
`jobdeck serve` (`--source-table URL#TABLE`).
"""
