"""Units of work: load a batch, apply the rules, write the batch in one transaction.

Tasks take IDs and codes (never sessions or ORM objects), open their own session, commit
once, and return a small summary."""
