"""The behaviour test modules both Python front ends run (see frontend.py), named once:
conftest.py collects only these under ``pytest --impl ctypes``, and tests/python/test_c_abi.py
loads them into unittest."""

#: Module names (the files are ``<name>.py`` in this directory).
MODULES = ("test_muster", "test_alting")
