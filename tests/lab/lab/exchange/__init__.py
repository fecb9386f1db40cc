"""Exchange cmdlet emulation: one module per object family; importing the package registers them all.

The import order is the seeding order (servers and databases before recipients, permissions last).
"""

from . import common  # noqa: F401
from . import servers  # noqa: F401
from . import recipients  # noqa: F401
from . import remote_domain  # noqa: F401
from . import send_connector  # noqa: F401
from . import receive_connector  # noqa: F401
from . import throttling  # noqa: F401
from . import rbac  # noqa: F401
from . import permissions  # noqa: F401
from . import imap  # noqa: F401
