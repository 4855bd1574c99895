"""The whole schema: every table module, so SQLModel.metadata holds every table.

Import this where all tables matter at once (the Alembic environment, the personal-data export
and deletion, the tests of the schema). Each feature's module imports only the tables it uses,
so the model files form no import cycle.
"""

from models import (  # noqa: F401
    broadcasts,
    competitions,
    consultations,
    exports,
    outbox,
    readiness,
    statistics,
    tables,
)
