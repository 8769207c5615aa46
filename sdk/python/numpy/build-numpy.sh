#!/usr/bin/env bash
# Builds numpy from source for componentize-py 0.25.1's CPython (3.14,
# wasm32-wasip2, extensions as PIC shared libraries it links into the
# component) and prints the folder that holds the built `numpy` package:
# pass it to componentize-py with -p (sdk/python/build-component.sh
# --with numpy does).
#
#   sdk/python/numpy/build-numpy.sh
#
# The result is cached in $MLOPS_NUMPY_CACHE (default
# ${XDG_CACHE_HOME:-~/.cache}/mlops-host/wasi-numpy) under a key made of
# this script, runtime.py, the numpy and componentize-py versions and the
# compiler's: a second run, in any checkout, prints the cached folder at once
# and needs no network.
#
# What it fetches (nothing is vendored): the numpy sdist, componentize-py,
# zstandard, Cython and ninja from PyPI; CPython 3.14's headers
# (libpython3.14-dev) and recent wasi-libc headers (wasi-libc) as Debian
# packages from deb.debian.org (unstable: bookworm has neither), checked
# against the SHA-256 of Debian's package index and unpacked, not installed.
# It compiles with Debian's clang-19 and lld-19 (.ci/toolchains installs
# them) and links against the shared libraries componentize-py carries
# (runtime.py extracts them), so the modules match the interpreter they load
# into. About 2 minutes on 2 cores.
#
# Left out, because componentize-py's C++ runtime has no exception support
# (its libc++abi.so has no __cxa_throw): numpy.fft (pocketfft throws and
# catches C++ exceptions). numpy's one other C++ throw site, np.unique's
# hash path (out of memory), aborts the call instead of raising, which the
# host reports as a trap; this is what C++ compiled without exceptions does.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

numpy_version=2.4.6
numpy_sha256=f3a3570c4a2a16746ac2c31a7c7c7b0c186b95ce902e33db6f28094ed7387dda
componentize_py_version=0.25.1
cython_version=3.3.1
ninja_version=1.13.2
zstandard_version=0.25.0
debian=https://deb.debian.org/debian
jobs=${JOBS:-$(nproc)}

need() { command -v "$1" >/dev/null || { echo "build-numpy: $1 not found (Debian package $2; .ci/toolchains installs it)" >&2; exit 1; }; }
need clang-19 clang-19
need wasm-ld-19 lld-19
need llvm-ar-19 llvm-19
need curl curl
need xz xz-utils
need dpkg-deb dpkg
need python3 python3
libcxx=/usr/lib/llvm-19/include/wasm32-wasi/c++/v1
builtins=/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a
[[ -d $libcxx ]] || { echo "build-numpy: $libcxx not found (Debian package libc++-19-dev-wasm32)" >&2; exit 1; }
[[ -f $builtins ]] || { echo "build-numpy: $builtins not found (Debian package libclang-rt-19-dev-wasm32)" >&2; exit 1; }

cache=${MLOPS_NUMPY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlops-host/wasi-numpy}
key=$( (cat "$here/build-numpy.sh" "$here/runtime.py"; clang-19 --version | head -1;
        echo "$numpy_version $componentize_py_version") | sha256sum | cut -c1-16)
out="$cache/numpy-$numpy_version-$key"
if [[ -f "$out/.complete" ]]; then
    echo "$out/site"
    exit 0
fi
mkdir -p "$cache"
# One build at a time (two model builds may ask at once); the second waits
# and then finds the first one's result.
exec 9>"$cache/.lock"
flock 9
if [[ -f "$out/.complete" ]]; then
    echo "$out/site"
    exit 0
fi

started=$(date +%s)
work="$cache/work-$key"
rm -rf "$work" "$out"
mkdir -p "$work" "$cache/downloads"
dl="$cache/downloads"
say() { echo "build-numpy: $*" >&2; }

# --- tools from PyPI ----------------------------------------------------------
say "tools: componentize-py $componentize_py_version, Cython $cython_version, ninja $ninja_version (PyPI)"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check \
    "componentize-py==$componentize_py_version" "zstandard==$zstandard_version" \
    "cython==$cython_version" "ninja==$ninja_version" >&2
native=$(echo "$work"/venv/lib/python3*/site-packages/componentize_py/componentize_py*.so)
"$work/venv/bin/python" "$here/runtime.py" "$native" "$work/runtime"
rt="$work/runtime"

# --- sources ------------------------------------------------------------------
tarball="$dl/numpy-$numpy_version.tar.gz"
if ! echo "$numpy_sha256  $tarball" | sha256sum -c --quiet >/dev/null 2>&1; then
    say "numpy $numpy_version sdist (PyPI)"
    url=$(curl -fsS https://pypi.org/simple/numpy/ | grep -o "https://files.pythonhosted.org/[^\"#]*/numpy-$numpy_version.tar.gz" | head -1)
    [[ -n $url ]] || { say "numpy $numpy_version is not on PyPI's index"; exit 1; }
    curl -fsS -o "$tarball" "$url"
    echo "$numpy_sha256  $tarball" | sha256sum -c --quiet
fi
# A Debian package, by name, from unstable's index (the current version),
# checked against the index's SHA-256 and unpacked into $2.
debian_package() {
    local name=$1 into=$2 entry file sum
    [[ -f "$work/Packages" ]] || curl -fsS "$debian/dists/sid/main/binary-amd64/Packages.xz" | xz -dc > "$work/Packages"
    entry=$(awk -v p="$name" '$0 == "Package: " p {on = 1} on && /^$/ {exit} on' "$work/Packages")
    file=$(awk '/^Filename: / {print $2}' <<<"$entry")
    sum=$(awk '/^SHA256: / {print $2}' <<<"$entry")
    [[ -n $file && -n $sum ]] || { say "Debian unstable has no package $name"; exit 1; }
    say "$name $(awk '/^Version: / {print $2}' <<<"$entry") (Debian unstable)"
    curl -fsS -o "$work/$name.deb" "$debian/$file"
    echo "$sum  $work/$name.deb" | sha256sum -c --quiet
    dpkg-deb -x "$work/$name.deb" "$into"
}
debian_package libpython3.14-dev "$work/deb"
debian_package wasi-libc "$work/deb"

# --- the cross environment ----------------------------------------------------
# Headers: CPython 3.14's with the wasm32 build's pyconfig.h; wasi-libc's C
# headers and Debian's libc++ 19 headers (the ABI v2 of componentize-py's
# libc++.so) in one sysroot.
mkdir -p "$work/python" "$work/sysroot/include"
cp -r "$work/deb/usr/include/python3.14" "$work/python/include"
cp "$rt/include/pyconfig.h" "$work/python/include/pyconfig.h"
cp -r "$work/deb/usr/include/wasm32-wasi" "$work/sysroot/include/wasm32-wasi"
mkdir -p "$work/sysroot/include/wasm32-wasi/c++"
ln -s "$libcxx" "$work/sysroot/include/wasm32-wasi/c++/v1"
# A python that reports the wasm32 CPython's sysconfig (meson asks it where
# the headers are and what an extension is called).
mkdir -p "$work/sysconfig"
sed "s|'INCLUDEPY': '[^']*'|'INCLUDEPY': '$work/python/include'|; s|'CONFINCLUDEPY': '[^']*'|'CONFINCLUDEPY': '$work/python/include'|" \
    "$rt/lib/_sysconfigdata__wasi_wasm32-wasi.py" > "$work/sysconfig/_sysconfigdata__wasi_wasm32-wasi.py"
cat > "$work/cross-python" <<EOF
#!/bin/sh
export _PYTHON_SYSCONFIGDATA_NAME=_sysconfigdata__wasi_wasm32-wasi _PYTHON_HOST_PLATFORM=wasi-wasm32
export PYTHONPATH="$work/sysconfig\${PYTHONPATH:+:\$PYTHONPATH}"
exec "$work/venv/bin/python" "\$@"
EOF
# Compiler wrappers: meson wraps static libraries in --start-group/--end-group,
# which wasm-ld rejects (it needs no groups); --no-gc-sections is for meson's
# configure checks only (else a check's main is dropped and every function
# "exists"), while the extensions keep gc-sections (fewer imports and table
# slots in the component).
for cc in clang-19 clang++-19; do
    cat > "$work/wasm-$cc" <<EOF
#!/bin/bash
extension=0
case " \$* " in *" -o "*.cpython-314-wasm32-wasi.so" "*) extension=1 ;; esac
args=()
for a in "\$@"; do
    case "\$a" in
        -Wl,--start-group|-Wl,--end-group) ;;
        -Wl,--no-gc-sections) [[ \$extension == 1 ]] || args+=("\$a") ;;
        *) args+=("\$a") ;;
    esac
done
exec $cc --target=wasm32-wasi --sysroot=$work/sysroot "\${args[@]}"
EOF
done
chmod +x "$work/cross-python" "$work"/wasm-clang*
# C++ throw sites (np.unique's hash path) call __cxa_allocate_exception and
# __cxa_throw, which componentize-py's libc++abi.so does not define: each
# C++ module gets its own, which reports and aborts (a trap for the host),
# as libc++ does for a throw when built without exceptions.
cat > "$work/cxa_abort.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#define HIDDEN __attribute__((visibility("hidden")))
HIDDEN void *__cxa_allocate_exception(unsigned long size) { return malloc(size); }
HIDDEN void __cxa_throw(void *exception, void *type, void (*destroy)(void *)) {
    (void)exception; (void)type; (void)destroy;
    fputs("numpy: a C++ exception was thrown; C++ exceptions abort on wasm32-wasi\n", stderr);
    abort();
}
EOF
clang-19 --target=wasm32-wasi --sysroot="$work/sysroot" -fPIC -O2 -c "$work/cxa_abort.c" -o "$work/cxa_abort.o"
# Extensions link against the libraries componentize-py links every
# component with; compiler-rt's builtins (__multi3, long double
# arithmetic…) go into each module, as wasi-sdk does, since libc.so does
# not export them.
link="'-nostdlib', '-Wl,--no-entry', '-Wl,-shared', '-Wl,--experimental-pic', '-Wl,--no-gc-sections', '-Wl,$rt/libpython3.14.so'"
cat > "$work/wasm32-wasi.cross" <<EOF
[binaries]
c = '$work/wasm-clang-19'
cpp = '$work/wasm-clang++-19'
ar = 'llvm-ar-19'
strip = 'llvm-strip-19'
python = '$work/cross-python'
cython = '$work/venv/bin/cython'
pkg-config = 'false'

[built-in options]
c_args = ['-fPIC', '-DNPY_NO_SIGNAL', '-D_WASI_EMULATED_PROCESS_CLOCKS', '-D_WASI_EMULATED_SIGNAL', '-D_WASI_EMULATED_MMAN']
cpp_args = ['-fPIC', '-DNPY_NO_SIGNAL', '-fno-exceptions']
c_link_args = [$link, '-Wl,$rt/libc.so', '-Wl,$builtins']
cpp_link_args = [$link, '-Wl,$rt/libc++.so', '-Wl,$rt/libc++abi.so', '-Wl,$rt/libc.so', '-Wl,$builtins', '-Wl,$work/cxa_abort.o']

[properties]
needs_exe_wrapper = true
skip_sanity_check = true
longdouble_format = 'IEEE_QUAD_LE'

[host_machine]
system = 'wasi'
cpu_family = 'wasm32'
cpu = 'wasm32'
endian = 'little'
EOF

# --- configure, build, install --------------------------------------------------
src="$work/numpy-src"
mkdir -p "$src"
tar xzf "$tarball" -C "$src" --strip-components=1
grep -q "^subdir('fft')$" "$src/numpy/meson.build" || { say "numpy's meson.build changed: no subdir('fft') line to leave out"; exit 1; }
sed -i "s/^subdir('fft')$/# subdir('fft'): C++ exceptions, see build-numpy.sh/" "$src/numpy/meson.build"
export PATH="$work/venv/bin:$PATH"
say "configuring numpy $numpy_version for wasm32-wasi"
"$work/venv/bin/python" "$src/vendored-meson/meson/meson.py" setup "$work/build" "$src" \
    --cross-file "$work/wasm32-wasi.cross" --buildtype=release -Db_ndebug=if-release \
    -Dblas=none -Dlapack=none -Dallow-noblas=true -Ddisable-threading=true \
    -Ddisable-optimization=true -Ddisable-svml=true -Ddisable-highway=true -Ddisable-intel-sort=true \
    -Dcpu-baseline=none -Dcpu-dispatch=none --prefix=/ \
    -Dpython.platlibdir=/site -Dpython.purelibdir=/site > "$work/configure.log" 2>&1 \
    || { tail -30 "$work/configure.log" >&2; say "configure failed: $work/configure.log"; exit 1; }
say "compiling numpy ($jobs jobs)"
ninja -C "$work/build" -j "$jobs" > "$work/build.log" 2>&1 \
    || { tail -30 "$work/build.log" >&2; say "build failed: $work/build.log"; exit 1; }
DESTDIR="$work/install" "$work/venv/bin/python" "$src/vendored-meson/meson/meson.py" install \
    -C "$work/build" --tags runtime,python-runtime --quiet >&2
# The tests are not needed in a component.
find "$work/install/site/numpy" -name tests -type d -prune -exec rm -rf {} +
mkdir -p "$out"
mv "$work/install/site" "$out/site"
{
    echo "numpy $numpy_version for componentize-py $componentize_py_version (CPython 3.14, wasm32-wasi)"
    echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - started )) s with $(clang-19 --version | head -1)"
    echo "extension modules: $(find "$out/site" -name '*.so' | wc -l), $(du -sh "$out/site/numpy" | cut -f1)"
} > "$out/BUILD.txt"
touch "$out/.complete"
rm -rf "$work"
say "$(sed -n 2p "$out/BUILD.txt")"
echo "$out/site"
