"""Shared helpers of the native package's tests: unique region names (other agents and test runs
share /dev/shm) and a region fixture that is unlinked afterwards."""

import os
import itertools

import pytest

import muster

_counter = itertools.count()


def unique_name(tag):
    """A region name unique to this process and call."""
    return "muster-py-%s-%d-%d" % (tag, os.getpid(), next(_counter))


@pytest.fixture
def region_name():
    name = unique_name("t")
    yield name
    try:
        muster.Region.unlink(name)
    except muster.MusterError as e:
        if e.code != muster.ENOENT:
            raise


@pytest.fixture
def region(region_name):
    with muster.Region.create(region_name, max_barriers=64, max_processes=64) as r:
        yield r
