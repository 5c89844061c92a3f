"""Compiled plans: queries answered without graphql-core's field-by-field execution.

runner.py gates a request exactly as the generic path does and runs its plan; compiler.py
turns a validated document into a plan, finding each field's one definition (api/graph/fields.py)
through the schema; executor.py runs a plan level by level through one held Reader
(services/reader.py).
"""
