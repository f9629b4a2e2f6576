"""Registry exchange: the CSV folders of DATA_FORMAT.md, in (import) and out (export).

`specs` describes every file of the contract, `reader` streams a file with physical line
numbers, `parsers` turns cells into values, `validate` is the read-only first pass,
`importer` the two-pass import and `exporter` the output files.
"""
