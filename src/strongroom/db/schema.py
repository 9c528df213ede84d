"""Imports every table module so that `metadata` describes the whole schema (for Alembic)."""

from strongroom.audit import models as _audit  # noqa: F401
from strongroom.barrier import models as _barrier  # noqa: F401
from strongroom.db.base import metadata
from strongroom.modules import models as _modules  # noqa: F401
from strongroom.modules.totp import models as _totp  # noqa: F401
from strongroom.modules.transit import models as _transit  # noqa: F401
from strongroom.notifications import models as _notifications  # noqa: F401
from strongroom.policy import models as _policy  # noqa: F401
from strongroom.secrets import models as _secrets  # noqa: F401
from strongroom.sessions import models as _sessions  # noqa: F401
from strongroom.shares import models as _shares  # noqa: F401
from strongroom.system import models as _system  # noqa: F401
from strongroom.users import models as _users  # noqa: F401
from strongroom.vault import models as _vault  # noqa: F401

__all__ = ["metadata"]
