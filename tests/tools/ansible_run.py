"""Run ansible-playbook against this checkout the way a user would, for tests and tools.

The checkout is made visible as ``ansible_collections/xphone/connect`` through a symlink in a scratch
directory, every Ansible temp/home path points into that directory, and the interpreter is the current
one, so a run leaves nothing behind outside it.
"""

import dataclasses
import os
import subprocess
import sys

import recap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@dataclasses.dataclass
class PlaybookRun:
    rc: int
    output: str
    hosts: dict

    @property
    def changed(self):
        return sum(c.get("changed", 0) for c in self.hosts.values())

    @property
    def failed(self):
        return sum(c.get("failed", 0) + c.get("unreachable", 0) for c in self.hosts.values())


def collections_tree(scratch):
    """A collections path in ``scratch`` whose xphone/connect is this checkout; returns the path.

    XPHONE_TEST_COLLECTIONS_PATH replaces it, e.g. to test a collection installed from the built artifact.
    """
    if os.environ.get("XPHONE_TEST_COLLECTIONS_PATH"):
        return os.environ["XPHONE_TEST_COLLECTIONS_PATH"]
    root = os.path.join(scratch, "collections")
    link = os.path.join(root, "ansible_collections", "xphone", "connect")
    if not os.path.lexists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    return root


def playbook_env(scratch):
    env = dict(os.environ)
    home = os.path.join(scratch, "ansible-home")
    env.update(
        ANSIBLE_COLLECTIONS_PATH=collections_tree(scratch),
        ANSIBLE_HOME=home,
        ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
        ANSIBLE_REMOTE_TMP=os.path.join(home, "remote-tmp"),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        PATH=BIN + os.pathsep + env.get("PATH", ""),
    )
    env.pop("ANSIBLE_CONFIG", None)
    return env


def run_playbook(playbook, inventory, scratch, extra_vars=(), args=(), timeout=600, env=None):
    """Run ``playbook`` (a path relative to the checkout) and return its exit code, output and recap."""
    cmd = [os.path.join(BIN, "ansible-playbook"), os.path.join(REPO, playbook), "-i", inventory]
    for extra in extra_vars:
        cmd += ["-e", extra]
    cmd += list(args)
    run_env = playbook_env(scratch)
    run_env.update(env or {})
    proc = subprocess.run(cmd, cwd=REPO, env=run_env, capture_output=True, text=True, timeout=timeout, check=False)
    output = proc.stdout + proc.stderr
    return PlaybookRun(proc.returncode, output, recap.parse_recap(proc.stdout))
