"""Run results: the run summary, run loading, the paper's tables, method identity, tables beside the paper."""
