"""The pipeline: run configurations, the run cache, computing a run (tabular or image), the
executors that schedule runs, the sweep runner that executes the notebooks, and ``study``,
which joins a data set's cached tables for them."""
