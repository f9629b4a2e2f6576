"""Pure decision rules: plain data in, plain data out, every number from a `Policy`.
No Prefect, no database: the flows call these, and the unit tests pin them directly."""
