#!/usr/bin/env python
"""Copy the collection's source files into DEST (for tools that need .../ansible_collections/NS/NAME).

ansible-test resolves symlinks, so a symlinked checkout is not enough for it. The copy holds exactly
what git would commit: tracked files plus untracked files that are not ignored (new work in progress
is checked too, build output and virtual environments are not).
"""

import argparse
import os
import shutil
import subprocess
import sys


def source_files(root):
    out = subprocess.run(
        ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True,
    ).stdout
    names = sorted({n for n in out.decode("utf-8").split("\0") if n})
    # Files deleted in the work tree are still in the index until the deletion is committed.
    return [n for n in names if os.path.lexists(os.path.join(root, n))]


def stage(root, dest):
    if os.path.lexists(dest):
        shutil.rmtree(dest)
    os.makedirs(dest)
    names = source_files(root)
    for name in names:
        target = os.path.join(dest, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(root, name), target, follow_symlinks=False)
    # ansible-test lists a collection's files with git when it finds a repository above it; without a
    # repository of its own, the copy would be seen through the checkout's, where tests/output is ignored.
    subprocess.run(["git", "init", "-q", dest], check=True)
    subprocess.run(["git", "-C", dest, "add", "--all"], check=True)
    return len(names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", help="directory to (re)create, e.g. tests/output/sanity/ansible_collections/xphone/connect")
    parser.add_argument("--root", default=".", help="the collection checkout (a git work tree)")
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    dest = os.path.abspath(args.dest)
    inside_output = dest.startswith(os.path.join(root, "tests", "output") + os.sep)
    if dest == root or (dest.startswith(root + os.sep) and not inside_output):
        sys.exit("refusing to stage into %s: use a directory under tests/output" % dest)
    count = stage(root, dest)
    sys.stdout.write("staged %d files in %s\n" % (count, dest))


if __name__ == "__main__":
    main()
