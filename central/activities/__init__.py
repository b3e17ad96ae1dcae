"""Module 01: activity programming (monthly plans), execution (from the queue, case files and
activities entered by hand) and supervision (planned against executed, productivity, workload)."""

from central.activities import rollup as _rollup

# the daily roll-up of attentions is kept by the sync apply path, in its transaction
_rollup.install()
