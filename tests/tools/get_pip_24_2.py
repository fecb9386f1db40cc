# Local stand-in for https://ci-files.testing.ansible.com/ansible-test/get-pip-24.2.py, which is not
# reachable from the build machines. ansible-test runs this file with runpy to put pip into each
# sanity venv; it installs the pip wheel that lies next to it in ansible-test's cache directory.
"""Install pip from a wheel in this directory (ansible-test bootstrap stand-in)."""

import glob
import os
import sys


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    wheels = sorted(glob.glob(os.path.join(here, "pip-24.2-*.whl")))
    if not wheels:
        sys.exit("get_pip_24_2.py stand-in: no pip-24.2 wheel in %s" % here)
    sys.path.insert(0, wheels[0])
    # get-pip.py's own switches; pip install itself does not know them.
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    sys.exit(pip_main(["install", "--upgrade", "--force-reinstall"] + args))


if __name__ == "__main__":
    main()
