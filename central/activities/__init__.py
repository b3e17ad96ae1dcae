"""Module 01: activity programming (monthly plans), execution (from the queue, case files and
activities entered by hand) and supervision (planned against executed, productivity, workload)."""
