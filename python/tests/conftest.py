"""pytest setup of python/tests: the front end (``--impl``), unique region names (other agents
and test runs share /dev/shm) and a region fixture that is unlinked afterwards.

``--impl native`` (the default) runs everything here against the installed package;
``--impl ctypes`` runs only the shared behaviour tests (test_muster.py, test_alting.py) against
the ctypes module tests/python/muster.py (set ``MUSTER_LIB``); see frontend.py."""

import itertools
import os

import pytest
from shared_tests import MODULES

#: The files of the test modules that run against both front ends; the others are the native
#: package's own.
SHARED = tuple(m + ".py" for m in MODULES)

_counter = itertools.count()


def pytest_addoption(parser):
    parser.addoption(
        "--impl",
        choices=("native", "ctypes"),
        default=None,
        help="the Python front end to test: the native package (default) or the ctypes module",
    )


def pytest_configure(config):
    # Before any test module imports frontend; an environment variable, so that spawned
    # children pick the same front end.
    impl = config.getoption("--impl")
    if impl is not None:
        os.environ["MUSTER_IMPL"] = impl


def pytest_ignore_collect(collection_path, config):
    if os.environ.get("MUSTER_IMPL", "native") == "ctypes" and collection_path.name.startswith("test_"):
        return collection_path.name not in SHARED
    return None


def unique_name(tag):
    """A region name unique to this process and call."""
    return "muster-py-%s-%d-%d" % (tag, os.getpid(), next(_counter))


@pytest.fixture
def region_name():
    from frontend import muster

    name = unique_name("t")
    yield name
    try:
        muster.Region.unlink(name)
    except muster.MusterError as e:
        if e.code != muster.ENOENT:
            raise


@pytest.fixture
def region(region_name):
    from frontend import muster

    with muster.Region.create(region_name, max_barriers=64, max_processes=64) as r:
        yield r
