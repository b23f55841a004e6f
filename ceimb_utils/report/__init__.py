"""The report: tables, figures, training health, the RQ4 remedies and the claims audit, all
computed from cached tables when a notebook runs (never part of a run's fingerprint)."""
