#!/usr/bin/env python3
"""Reads an akerbp.mlops model without running it, for `mlops-host migrate`.

    python3 inspect_seed.py <seed_root> <model_file> [<test_file>]

<model_file> and <test_file> are the settings' paths, relative to
<seed_root> (the folder of the seed's mlops_settings.yaml). Prints one JSON
object on stdout:

    module              the import path the seed used (model_code/model.py ->
                        model_code.model)
    functions           which of initialization, predict, train the module
                        defines (or imports)
    has_model_exception whether it defines (or imports) ModelException
    imports             every module the model's code imports, sorted: the
                        model file and the project modules it imports, in
                        turn (import numpy -> numpy; from model_code.helper
                        import f -> model_code.helper; from
                        akerbp.mlops.core import logger ->
                        akerbp.mlops.core.logger)
    local_modules       those project modules, as files under <seed_root>
    third_party         top-level packages imported that are neither the
                        standard library, the project, nor akerbp
    lazy_imports        modules imported inside functions: only modules
                        imported at build time exist in the sandbox, so the
                        wrapper imports these up front
    service_tests       ServiceTest's *_input / *_check attributes:
                        {"literal": true, "value": <JSON>} or
                        {"literal": false, "why": "line 12: ..."}
    reads_files         file access the sandbox will refuse (best effort):
                        open()/read_csv()/np.load()... on a path not built
                        from a parameter such as artifact_folder or
                        folder_path, and temporary files
    problems            what a person has to look at before the model runs

Only Python's standard library is used; the seed's code is parsed (`ast`),
never imported or run. Exit status 0, also when there are problems; 2 (with
a message on stderr) when a file cannot be read or parsed.
"""

import ast
import json
import math
import os
import sys

INTERFACE = ("initialization", "predict", "train")
# How the seed called them: initialization and predict by position, train by
# keyword.
POSITIONAL = {"initialization": 2, "predict": 3}
TRAIN_KEYWORDS = ("data", "folder_path", "secrets")
# akerbp.mlops's own modules (2.5.8 and 4.1.0), to tell `from
# akerbp.mlops.core import logger` (a module) from an imported name.
AKERBP_MODULES = {
    "akerbp.mlops.core": {"config", "helpers", "mappings", "logger", "logger_config", "exceptions"},
    "akerbp.mlops.cdf": {"helpers", "handler", "download_function_file"},
    "akerbp.mlops.services": {"prediction", "training", "test_service"},
    "akerbp.mlops.deployment": {"deploy", "helpers", "platforms", "setup"},
    "akerbp.mlops.model_manager": {"model_manager"},
    "akerbp.mlops.pipeline_helpers": {"promote_artifacts", "tag_model_version"},
    "akerbp.mlops": {"core", "cdf", "services", "deployment", "model_manager", "pipeline_helpers"},
}
# What mlops-host provides of akerbp.mlops inside the sandbox.
SHIMMED = {"akerbp", "akerbp.mlops", "akerbp.mlops.core", "akerbp.mlops.core.logger"}
# Calls that open a file. Functions taking the path first (or by keyword):
FILE_FUNCTIONS = {
    "read_csv", "read_table", "read_excel", "read_parquet", "read_json", "read_pickle",
    "read_feather", "read_hdf", "read_fwf", "loadtxt", "genfromtxt", "fromfile", "load_model",
}
LOADERS = {"np", "numpy", "joblib", "torch"}  # <x>.load(path)
OPENERS = {"io", "os", "codecs", "gzip", "bz2", "lzma"}  # <x>.open(path)
# Methods of a path object (pathlib): the path is the object.
PATH_METHODS = {"open", "read_text", "read_bytes", "write_text", "write_bytes"}
PATH_KEYWORDS = ("file", "filepath_or_buffer", "fname", "path", "filename", "model_file", "io")
TEMPFILE_CALLS = {"mkdtemp", "mkstemp", "TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile", "gettempdir"}


def fail(message):
    print(f"inspect_seed: {message}", file=sys.stderr)
    sys.exit(2)


def parse(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            source = f.read()
    except (OSError, UnicodeDecodeError) as e:
        fail(f"cannot read the {what} {path}: {e}")
    try:
        return ast.parse(source, filename=path), source
    except SyntaxError as e:
        fail(f"the {what} {path} does not parse: line {e.lineno}: {e.msg}")


def stdlib_names():
    names = getattr(sys, "stdlib_module_names", None)  # Python >= 3.10
    if names:
        return set(names)
    import pkgutil
    import sysconfig

    lib = sysconfig.get_paths()["stdlib"]
    found = pkgutil.iter_modules([lib, os.path.join(lib, "lib-dynload")])
    return {m.name.split(".")[0] for m in found} | set(sys.builtin_module_names)


class Project:
    """The seed project: which dotted names are files under its root."""

    def __init__(self, root):
        self.root = root

    def file_of(self, module):
        """The file of a project module (relative to the root), or None."""
        base = os.path.join(self.root, *module.split("."))
        for candidate in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(candidate):
                return os.path.relpath(candidate, self.root)
        return None

    def is_package(self, module):
        return os.path.isdir(os.path.join(self.root, *module.split(".")))

    def is_module(self, module):
        return self.file_of(module) is not None or self.is_package(module)


def module_of(relpath):
    """model_code/model.py -> model_code.model; model_code/x/__init__.py -> model_code.x"""
    parts = relpath.replace(os.sep, "/").split("/")
    parts[-1] = parts[-1][: -len(".py")] if parts[-1].endswith(".py") else parts[-1]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(p for p in parts if p not in ("", "."))


def imported_modules(node, current, is_package, project):
    """The modules an Import/ImportFrom statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: from .helper import x
        package = current.split(".") if is_package else current.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        base = ".".join(package + ([base] if base else []))
    out = []
    for alias in node.names:
        candidate = f"{base}.{alias.name}" if base else alias.name
        known = AKERBP_MODULES.get(base, set())
        if alias.name != "*" and (alias.name in known or project.is_module(candidate)):
            out.append(candidate)  # a submodule
        elif base:
            out.append(base)
    return out


class Scan(ast.NodeVisitor):
    """One module: its imports (module level and inside functions) and its
    file access."""

    def __init__(self, module, is_package, project, label, source):
        self.module, self.is_package, self.project, self.label = module, is_package, project, label
        self.source = source
        self.imports, self.lazy, self.files = [], set(), []
        self.depth = 0  # functions we are inside
        self.tainted = [set()]  # names derived from the enclosing functions' parameters

    def where(self, node):
        return f"{self.label}line {node.lineno}"

    def visit_Import(self, node):
        self._import(node)

    def visit_ImportFrom(self, node):
        self._import(node)

    def _import(self, node):
        names = imported_modules(node, self.module, self.is_package, self.project)
        self.imports.extend(names)
        if self.depth:
            self.lazy.update(names)

    def _function(self, node):
        args = node.args
        params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
        params |= {a.arg for a in (args.vararg, args.kwarg) if a}
        self.depth += 1
        self.tainted.append(set(self.tainted[-1]) | params)
        # Names assigned from the parameters (a = os.path.join(folder, "x"); b = a),
        # until no new one appears.
        size = -1
        while size != len(self.tainted[-1]):
            size = len(self.tainted[-1])
            for sub in ast.walk(node):
                pairs = []
                if isinstance(sub, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and sub.value is not None:
                    targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                    pairs = [(t, sub.value) for t in targets]
                elif isinstance(sub, (ast.With, ast.AsyncWith)):
                    pairs = [(i.optional_vars, i.context_expr) for i in sub.items if i.optional_vars is not None]
                elif isinstance(sub, (ast.For, ast.AsyncFor, ast.comprehension)):
                    pairs = [(sub.target, sub.iter)]
                for target, value in pairs:
                    if self._derived(value):
                        self.tainted[-1] |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
        self.generic_visit(node)
        self.tainted.pop()
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _derived(self, expr):
        return any(isinstance(n, ast.Name) and n.id in self.tainted[-1] for n in ast.walk(expr))

    def visit_Call(self, node):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
        owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
        paths = []  # where the path may be: reported when none is derived from a parameter
        if isinstance(func, ast.Name):
            if name == "open" or name in FILE_FUNCTIONS:
                paths = [self._path_arg(node)]
        elif isinstance(func, ast.Attribute):
            if name == "open" and owner in OPENERS:
                paths = [self._path_arg(node)]
            elif name in PATH_METHODS:
                # Path(...).read_text(), (folder / "x").open("rb"), Image.open(path)
                paths = [func.value, self._path_arg(node)]
            elif name in FILE_FUNCTIONS or (name == "load" and owner in LOADERS):
                paths = [self._path_arg(node)]
        paths = [p for p in paths if p is not None]
        if name in TEMPFILE_CALLS and (owner == "tempfile" or isinstance(func, ast.Name)):
            self.files.append(
                f"{self.where(node)}: {self._code(node)} (the sandbox has no temporary folder; write into folder_path)"
            )
        elif paths and not any(self._derived(p) or self._file_object(p) for p in paths):
            self.files.append(f"{self.where(node)}: {self._code(node)}")
        self.generic_visit(node)

    def _path_arg(self, call):
        if call.args:
            return call.args[0]
        for kw in call.keywords:
            if kw.arg in PATH_KEYWORDS:
                return kw.value
        return None

    def _file_object(self, expr):
        # np.load(open(...)): the open() is reported already.
        return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "open"

    def _code(self, node):
        text = " ".join((ast.get_source_segment(self.source, node) or "a file access").split())
        return text if len(text) <= 160 else text[:157] + "..."


def top_level_names(tree):
    """Names the module binds at its top level: def, class, assignment, import."""
    names = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                for n in ast.walk(target):
                    if isinstance(n, ast.Name):
                        names[n.id] = node
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            names[node.target.id] = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names[(alias.asname or alias.name).split(".")[0]] = node
    return names


def check_signature(name, node, problems, model_file):
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return
    args = node.args
    positional = args.posonlyargs + args.args
    if isinstance(node, ast.AsyncFunctionDef):
        problems.append(f"{model_file} line {node.lineno}: `{name}` is async; the seed called it as a plain function")
    if name in POSITIONAL:
        want = POSITIONAL[name]
        required = len(positional) - len(args.defaults)
        if required > want or (len(positional) < want and args.vararg is None):
            problems.append(
                f"{model_file} line {node.lineno}: `{name}` takes {len(positional)} positional parameter(s); "
                f"the seed called it with {want}"
            )
    else:  # train(data=..., folder_path=..., secrets=...)
        accepted = {a.arg for a in positional + args.kwonlyargs}
        missing = [k for k in TRAIN_KEYWORDS if k not in accepted]
        if missing and args.kwarg is None:
            problems.append(
                f"{model_file} line {node.lineno}: `train` has no parameter {', '.join(missing)}; "
                "the seed called it as train(data=..., folder_path=..., secrets=...)"
            )


# --- ServiceTest -------------------------------------------------------------

class NotJson(Exception):
    pass


def to_json(value):
    """A literal value as JSON (tuples become lists); NotJson says why not."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJson(f"it holds {value}, which JSON cannot hold")
        return value
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise NotJson(f"it has a key {k!r} that is not a string (JSON keys are strings)")
            out[k] = to_json(v)
        return out
    raise NotJson(f"it holds a {type(value).__name__} ({value!r:.40}), which JSON cannot hold")


def why_not_literal(expr):
    """The first part of `expr` that is not a literal, described."""
    for node in ast.walk(expr):
        line = f"line {getattr(node, 'lineno', expr.lineno)}"
        if isinstance(node, ast.Call):
            return f"{line}: built by a call to {dotted(node.func)}()"
        if isinstance(node, ast.Name):
            return f"{line}: uses the variable `{node.id}`"
        if isinstance(node, ast.Attribute):
            return f"{line}: uses `{dotted(node)}`"
        if isinstance(node, (ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp)):
            return f"{line}: built by a comprehension"
        if isinstance(node, (ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp)) and not _signed_number(node):
            return f"{line}: computed by an expression"
        if isinstance(node, ast.JoinedStr):
            return f"{line}: an f-string"
        if isinstance(node, ast.Starred) or (isinstance(node, ast.Dict) and None in node.keys):
            return f"{line}: unpacks another value (* or **)"
    return f"line {expr.lineno}: not a literal"


def dotted(expr):
    """`a.b.c` for a name or attribute chain, else the source (Python >= 3.9)."""
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        return f"{dotted(expr.value)}.{expr.attr}"
    return ast.unparse(expr) if hasattr(ast, "unparse") else "an expression"


def _signed_number(node):
    # literal_eval accepts 1+2j style complex literals: BinOp of numbers
    return isinstance(node, ast.BinOp) and all(
        isinstance(n, ast.Constant) or isinstance(n, ast.UnaryOp) for n in (node.left, node.right)
    )


def service_tests(tree, test_file, problems):
    cls = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ServiceTest"), None)
    if cls is None:
        problems.append(f"{test_file} has no class ServiceTest: no service test input to make fixtures from")
        return {}
    assigned = {}  # attribute -> value expression (the last assignment wins)
    for node in cls.body:
        targets = []
        if isinstance(node, ast.Assign):
            targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            targets = [node.target.id]
        elif isinstance(node, ast.FunctionDef) and node.name == "__init__":
            # self.prediction_input = ... in __init__ (the seed instantiated ServiceTest)
            for sub in ast.walk(node):
                if isinstance(sub, ast.Assign):
                    for t in sub.targets:
                        if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                            assigned[t.attr] = sub.value
        for t in targets:
            assigned[t] = node.value
    out = {}
    for name in sorted(assigned):
        if not (name.endswith("_input") or name.endswith("_check")):
            continue
        expr = assigned[name]
        try:
            value = ast.literal_eval(expr)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            out[name] = {"literal": False, "why": why_not_literal(expr)}
            continue
        try:
            out[name] = {"literal": True, "value": to_json(value)}
        except NotJson as e:
            out[name] = {"literal": False, "why": f"line {expr.lineno}: {e}"}
    if "prediction_input" not in out and "training_input" not in out:
        problems.append(f"{test_file}: ServiceTest sets neither prediction_input nor training_input")
    return out


# --- main --------------------------------------------------------------------

def main(argv):
    if len(argv) not in (3, 4):
        fail("usage: inspect_seed.py <seed_root> <model_file> [<test_file>]")
    root, model_file = argv[1], argv[2]
    test_file = argv[3] if len(argv) == 4 else None
    if not os.path.isdir(root):
        fail(f"the seed root {root} is not a folder")
    project = Project(root)
    problems = []
    tree, source = parse(os.path.join(root, model_file), "model file")
    module = module_of(os.path.normpath(model_file))
    top_folder = module.split(".")[0]
    if "." not in module:
        problems.append(
            f"{model_file} is not in a folder: the seed deployed the model file's top folder, "
            "and imported the model from the project root"
        )

    # The interface.
    names = top_level_names(tree)
    functions = [f for f in INTERFACE if f in names]
    for f in functions:
        check_signature(f, names[f], problems, model_file)
    for f in ("initialization", "predict"):
        if f not in names:
            problems.append(f"{model_file} defines no `{f}`: the seed's prediction service needs it")
    has_exception = "ModelException" in names
    if not has_exception:
        problems.append(
            f"{model_file} defines no `ModelException`: the seed required one; every error of the model "
            "will be an internal error"
        )
    elif isinstance(names["ModelException"], (ast.FunctionDef, ast.AsyncFunctionDef)):
        problems.append(f"{model_file}: `ModelException` is a function, not an exception class")

    # The model's code: the model file and the project modules it imports.
    stdlib = stdlib_names()
    imports, lazy, reads, local = set(), set(), [], []
    queue, seen = [(module, model_file, tree, source)], {module}
    # Importing the model runs its packages' __init__.py files too.
    parts = module.split(".")
    packages = [".".join(parts[:i]) for i in range(1, len(parts))]
    while queue:
        name, relpath, mtree, msource = queue.pop(0)
        label = "" if relpath == model_file else f"{relpath} "
        scan = Scan(name, relpath.endswith("__init__.py"), project, label, msource)
        scan.visit(mtree)
        imports.update(scan.imports)
        reads.extend(scan.files)
        lazy |= scan.lazy
        for imported in scan.imports + (packages if name == module else []):
            # The module and the packages above it, as far as they are project files.
            parts = imported.split(".")
            for i in range(1, len(parts) + 1):
                candidate = ".".join(parts[:i])
                path = project.file_of(candidate)
                if candidate in seen or path is None:
                    continue
                seen.add(candidate)
                local.append(path)
                if parts[0] != top_folder:
                    problems.append(
                        f"{relpath} imports `{candidate}` ({path}), outside the folder `{top_folder}` "
                        "the seed deployed"
                    )
                try:
                    with open(os.path.join(root, path), encoding="utf-8") as f:
                        text = f.read()
                    queue.append((candidate, path, ast.parse(text, filename=path), text))
                except (OSError, UnicodeDecodeError, SyntaxError) as e:
                    problems.append(f"{path} cannot be read or parsed: {e}")

    def is_local(name):
        return project.is_module(name.split(".")[0])

    third_party = sorted(
        {n.split(".")[0] for n in imports}
        - stdlib
        - {"akerbp", "__future__"}
        - {n.split(".")[0] for n in imports if is_local(n)}
    )
    for name in sorted(imports):
        if name.split(".")[0] == "akerbp" and name not in SHIMMED:
            problems.append(
                f"imports `{name}`: mlops-host provides only akerbp.mlops.core.logger of akerbp.mlops"
            )
    if reads:
        problems.append(
            "the model opens files outside its artifact folder (see reads_files): in the sandbox it can "
            "read only the artifact folder, and write only into train's folder_path"
        )

    # The service test.
    tests = {}
    if test_file is None:
        problems.append("no test_file: no ServiceTest input to make fixtures from")
    else:
        tests = service_tests(parse(os.path.join(root, test_file), "test file")[0], test_file, problems)

    out = {
        "module": module,
        "functions": functions,
        "has_model_exception": has_exception,
        "imports": sorted(imports),
        "local_modules": sorted(local),
        "third_party": third_party,
        "lazy_imports": sorted(lazy),
        "service_tests": tests,
        "reads_files": reads,
        "problems": problems,
    }
    json.dump(out, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
