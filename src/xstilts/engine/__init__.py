"""Carrying out a plan: training phase runs, evaluating them, recording every number.

`runner.run_study` builds the study's plan (xstilts.plan) and executes its steps, here one after
another (`local.execute_unit`) or spread over a Ray cluster (`ray.run_on_ray`). The engine takes
every input from the plan's nodes; it decides nothing about what to train.
"""
