#!/usr/bin/env python3
"""Extracts what componentize-py carries for linking native extensions: the
wasm32-wasip2 shared libraries it links every component against (libc.so,
libpython3.14.so, libc++.so, libc++abi.so…, stored as zstd frames inside its
native module) and its CPython's standard library, then writes the
`pyconfig.h` of that CPython build from its sysconfig variables (the wheel
ships no headers).

    runtime.py <componentize_py.abi3.so> <out folder>

Needs `zstandard` (PyPI).
"""

import io
import json
import os
import re
import sys
import tarfile

import zstandard

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def uleb(data, i):
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def exports(module):
    """The export names of a core wasm module."""
    i, names = 8, set()
    while i < len(module):
        section = module[i]
        size, i = uleb(module, i + 1)
        end = i + size
        if section == 7:
            count, k = uleb(module, i)
            for _ in range(count):
                n, k = uleb(module, k)
                names.add(module[k : k + n].decode())
                k += n + 1  # name, then the kind byte
                _, k = uleb(module, k)
        i = end
    return names


def name_of(module):
    names = exports(module)
    if "Py_Initialize" in names:
        return "libpython3.14.so"
    if "malloc" in names and "printf" in names:
        return "libc.so"
    for marker, name in (
        ("__cxa_bad_cast", "libc++abi.so"),
        ("_ZNKSt12bad_any_cast4whatEv", "libc++.so"),
        ("dlopen", "libdl.so"),
        ("getpid", "libwasi-emulated-getpid.so"),
        ("mmap", "libwasi-emulated-mman.so"),
    ):
        if marker in names:
            return name
    return None


def main():
    native, out = sys.argv[1], sys.argv[2]
    data = open(native, "rb").read()
    found = {}
    for match in re.finditer(re.escape(ZSTD_MAGIC), data):
        try:
            blob = zstandard.ZstdDecompressor().decompressobj().decompress(data[match.start() : match.start() + 64_000_000])
        except zstandard.ZstdError:
            continue
        if blob[:4] == b"\0asm":
            name = name_of(blob)
            if name:
                found.setdefault(name, blob)
            continue
        try:
            if "os.py" in tarfile.open(fileobj=io.BytesIO(blob)).getnames():
                found.setdefault("stdlib.tar", blob)
        except tarfile.TarError:
            pass
    missing = {"libc.so", "libpython3.14.so", "libc++.so", "libc++abi.so", "stdlib.tar"} - found.keys()
    if missing:
        sys.exit(f"runtime.py: {native} does not hold {', '.join(sorted(missing))}: another componentize-py version?")
    os.makedirs(os.path.join(out, "include"), exist_ok=True)
    for name, blob in found.items():
        if name != "stdlib.tar":
            with open(os.path.join(out, name), "wb") as f:
                f.write(blob)
    tarfile.open(fileobj=io.BytesIO(found["stdlib.tar"])).extractall(os.path.join(out, "lib"), filter="data")

    variables = json.load(open(os.path.join(out, "lib", "_sysconfig_vars__wasi_wasm32-wasi.json")))
    lines = ["/* pyconfig.h of componentize-py's wasm32-wasi CPython, from its sysconfig variables */",
             "#ifndef Py_PYCONFIG_H", "#define Py_PYCONFIG_H"]
    for key in sorted(variables):
        value = variables[key]
        if not re.fullmatch(r"_*[A-Z][A-Z0-9_]*|Py_[A-Za-z0-9_]+|WITH_[A-Z0-9_]+", key):
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value != 0:
            lines.append(f"#ifndef {key}\n#define {key} {value}\n#endif")
        elif isinstance(value, str) and value.startswith('"') and value.endswith('"'):
            lines.append(f"#define {key} {value}")
    # The feature-test macros CPython's configure writes into pyconfig.h
    # (sysconfig does not record them), so extensions see the same libc API.
    for key, value in (("_GNU_SOURCE", 1), ("_XOPEN_SOURCE", 700), ("_XOPEN_SOURCE_EXTENDED", 1),
                       ("_POSIX_C_SOURCE", "200809L"), ("_FILE_OFFSET_BITS", 64), ("_LARGEFILE_SOURCE", 1),
                       ("_ALL_SOURCE", 1), ("_DARWIN_C_SOURCE", 1), ("__EXTENSIONS__", 1), ("_NETBSD_SOURCE", 1),
                       ("_OPENBSD_SOURCE", 1), ("_POSIX_PTHREAD_SEMANTICS", 1), ("_TANDEM_SOURCE", 1),
                       ("__BSD_VISIBLE", 1)):
        lines.append(f"#ifndef {key}\n#define {key} {value}\n#endif")
    lines.append("#endif")
    with open(os.path.join(out, "include", "pyconfig.h"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"componentize-py runtime: {', '.join(sorted(found))}; EXT_SUFFIX {variables.get('EXT_SUFFIX')}", file=sys.stderr)


if __name__ == "__main__":
    main()
