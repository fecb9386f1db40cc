"""Repository-wide pytest configuration: the lab's fixtures (``lab_env``, ``lab_factory``) for every test.

The lab package lives in tests/lab (the Makefile puts it on PYTHONPATH; added here for a bare ``pytest``).
"""

import os
import sys

_LAB_PARENT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lab")
if _LAB_PARENT not in sys.path:
    sys.path.insert(0, _LAB_PARENT)

# Fixtures are imported rather than listed in pytest_plugins: that only works in the rootdir's conftest.
from lab.pytest_plugin import lab_env, lab_factory  # noqa: E402,F401  # pylint: disable=wrong-import-position,unused-import
