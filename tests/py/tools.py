"""External programs the Python suites need, and tests/optional.txt: the one list of
tests that may skip when theirs is missing (see tests/common/tools.rs for Rust).

A test names itself as the list does, `py/<file>::<test method>`. A missing program
fails the test unless the list names it; then the test is skipped with a `SKIPPED `
line on stderr, which the Rust harness (tests/common/python.rs) counts and repeats.
"""

import os
import shutil
import sys
import unittest

OPTIONAL_LIST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "optional.txt")


def optional_tests():
    """{test: reason} for every test tests/optional.txt lists."""
    listed = {}
    with open(OPTIONAL_LIST, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            test, _, reason = line.partition(" ")
            if "::" not in test or not reason.strip():
                raise AssertionError(f"{OPTIONAL_LIST}: want `<file>::<test> <reason>`, got {line!r}")
            listed[test] = reason.strip()
    return listed


def require_tool(test, *programs):
    """The path of the first of `programs` on PATH; else skip if the list names `test`,
    else fail."""
    for program in programs:
        path = shutil.which(program)
        if path:
            return path
    wanted = " or ".join(programs)
    reason = optional_tests().get(test)
    if reason is None:
        raise AssertionError(
            f"{test} needs {wanted}, which is not on PATH: install it with scripts/setup.sh. "
            "Only a test listed in tests/optional.txt may skip."
        )
    # On a line of its own: unittest's verbose runner has not ended the test's line yet.
    print(f"\nSKIPPED {test}: {wanted} not found on PATH; optional ({reason})", file=sys.stderr, flush=True)
    raise unittest.SkipTest(f"{wanted} not found (optional: {reason})")
