"""The type stubs (`muster/_muster.pyi`) describe the native module as it is.

Parses the stub with `ast` and compares it with the imported extension both ways: every function,
class, method and attribute the stub declares exists at run time, and every public method or
attribute of each class exists in the stub. Checks that each stubbed callable's parameter names
match the run-time signature where PyO3 exposes one (`__text_signature__`), and that `py.typed`
ships beside it, so type checkers use the stub.
"""

import ast
import inspect
import pathlib

import muster
from muster import _muster

STUB = pathlib.Path(muster.__file__).with_name("_muster.pyi")


def _stub_tree():
    return ast.parse(STUB.read_text(), filename=str(STUB))


def _params(fn: ast.FunctionDef):
    """(positional-or-keyword names, keyword-only names, *args, **kwargs) of a stubbed function."""
    a = fn.args
    pos = [p.arg for p in a.posonlyargs + a.args if p.arg not in ("self", "cls")]
    return pos, [p.arg for p in a.kwonlyargs], a.vararg and a.vararg.arg, a.kwarg and a.kwarg.arg


def _matches(stub, rt):
    """Whether a stub's parameters describe the run-time ones. A run-time `**kwargs` that the
    extension validates itself may be spelt out as keyword-only parameters in the stub (the stub
    is then the more precise of the two; `test_region_keywords_are_exactly_the_stubbed_ones`
    checks that the extension accepts those and rejects others)."""
    pos, kwonly, var, kw = stub
    star = [f"*{var}"] if var else []
    want = pos + star + kwonly + ([f"**{kw}"] if kw else [])
    if rt == want:
        return True
    spelt_out = bool(kwonly) and not kw
    return spelt_out and bool(rt) and rt[-1].startswith("**") and rt[:-1] == pos + star


def _runtime_params(obj):
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None  # no text signature exposed
    out = []
    for p in sig.parameters.values():
        if p.name in ("self", "cls", "$self", "$cls"):
            continue
        prefix = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "")
        out.append(prefix + p.name)
    return out


def _stub_classes(tree):
    return {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}


def _members(cls: ast.ClassDef):
    """Stubbed member name -> its FunctionDef (None for annotated attributes). Overloads collapse."""
    out = {}
    for n in cls.body:
        if isinstance(n, ast.FunctionDef):
            out.setdefault(n.name, n)
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name):
            out[n.target.id] = None
    return out


def _is_overload(fn: ast.FunctionDef):
    return any(isinstance(d, ast.Name) and d.id == "overload" for d in fn.decorator_list)


def test_py_typed_ships_beside_the_stub():
    assert STUB.is_file(), STUB
    assert STUB.with_name("py.typed").is_file()


def test_module_level_names_exist():
    tree = _stub_tree()
    declared = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    missing = [n for n in declared if not hasattr(_muster, n)]
    assert not missing, f"stubbed but not in muster._muster: {missing}"
    for n in tree.body:
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets):
            for name in ast.literal_eval(n.value):
                assert hasattr(_muster, name), f"__all__ names {name!r}, which muster._muster lacks"


def test_every_stubbed_member_exists_and_every_public_member_is_stubbed():
    problems = []
    for name, cls in _stub_classes(_stub_tree()).items():
        rt = getattr(_muster, name)
        stubbed = _members(cls)
        for m in stubbed:
            if not m.startswith("__") and not hasattr(rt, m):
                problems.append(f"{name}.{m} is stubbed but missing at run time")
        for m in dir(rt):
            if m.startswith("_") or m in stubbed:
                continue
            problems.append(f"{name}.{m} exists at run time but is not in the stub")
    assert not problems, "\n".join(problems)


def test_parameter_names_match_the_runtime_signatures():
    problems = []
    tree = _stub_tree()
    fns = [(None, n) for n in tree.body if isinstance(n, ast.FunctionDef)]
    for name, cls in _stub_classes(tree).items():
        fns += [(name, n) for n in cls.body if isinstance(n, ast.FunctionDef)]
    checked = 0
    for owner, fn in fns:
        if _is_overload(fn) or fn.name.startswith("__"):
            continue
        if any(isinstance(d, ast.Name) and d.id == "property" for d in fn.decorator_list):
            continue
        obj = getattr(_muster if owner is None else getattr(_muster, owner), fn.name, None)
        if obj is None:
            continue  # reported by the test above
        rt = _runtime_params(obj)
        if rt is None:
            continue
        checked += 1
        if not _matches(_params(fn), rt):
            where = fn.name if owner is None else f"{owner}.{fn.name}"
            problems.append(f"{where}: stub {_params(fn)} vs run time {rt}")
    assert not problems, "\n".join(problems)
    assert checked > 0, "no run-time signature could be read: the comparison checked nothing"


def test_region_keywords_are_exactly_the_stubbed_ones():
    import os

    cls = _stub_classes(_stub_tree())["Region"]
    for method in ("create", "open_or_create"):
        fn = _members(cls)[method]
        kwonly = _params(fn)[1]
        assert kwonly, f"Region.{method}: the stub lists no keyword-only capacities"
        name = f"muster-stubs-{os.getpid()}-{method}"
        r = getattr(_muster.Region, method)(name, **{k: 0 for k in kwonly})
        try:
            assert r.name
        finally:
            _muster.Region.unlink(name)
        try:
            getattr(_muster.Region, method)(name, max_bogus=1)
        except TypeError as e:
            assert "max_bogus" in str(e)
        else:
            _muster.Region.unlink(name)
            raise AssertionError(f"Region.{method} accepted a keyword the stub does not list")
