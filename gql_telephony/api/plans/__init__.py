"""Compiled plans: queries answered without graphql-core's field-by-field execution.

runner.py gates a request exactly as the generic path does and runs its plan; compiler.py
turns a validated document into a plan; fields.py says how each covered field is made from
rows; executor.py runs a plan level by level; snapshot.py reads the rows in one session.
"""
