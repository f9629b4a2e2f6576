"""zhucun: the resident-work-team (驻村帮扶) assistance lifecycle on Prefect 3 and SQLModel.

Shared plumbing lives here (settings, database, CLI, pure decision rules, file
exchange, generator); the lifecycle itself is in the top-level `models/`,
`tasks/`, `flows/` and `deployments/` packages.
"""

__version__ = "0.1.0"
