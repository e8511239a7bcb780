"""The tests that boot guests run in one worker of a parallel run (see
``pytest_collection_modifyitems`` in tests/conftest.py): spread over several, two of them
would boot guests at once and pick the same free subnet in two processes."""

from __future__ import annotations

import pytest


def test_a_parallel_run_keeps_the_guests_tests_in_one_worker(request: pytest.FixtureRequest
                                                              ) -> None:
    if not request.config.getoption("loadgroup", default=False):
        pytest.skip("not a worker of `pytest -n N --dist loadgroup`")
    # xdist sends a group to one worker by the suffix it adds to the node's id.
    assert request.node.nodeid.endswith("@libvirt"), request.node.nodeid
