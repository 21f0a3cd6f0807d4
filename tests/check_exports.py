#!/usr/bin/env python3
"""Check that libkfk.so exports exactly the functions declared KFK_API.

The public headers are the contract (what is not in them is not API), and
symbols are hidden by default. This test catches both ways of breaking
that: an internal symbol leaking out of the .so (a missing `static`, a
stray visibility attribute), and a KFK_API declaration with no exported
definition (a typo, a forgotten source file).

Usage: check_exports.py LIBKFK_SO INCLUDE_DIR
Exit 0 if the two sets match; else 1, printing both lists and the
differences.
"""
import glob
import os
import re
import subprocess
import sys

# Defined by the linker or the toolchain's runtimes, not by our code.
TOOLCHAIN = re.compile(
    r"^(_init|_fini|_edata|_end|__bss_start|__end__|_DYNAMIC|"
    r"_GLOBAL_OFFSET_TABLE_|__(asan|ubsan|lsan|sancov|odr_asan|gcov|llvm)\w*|"
    r"__sanitizer\w*)$")


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        name = parts[2].split("@")[0]  # drop any symbol version
        if not TOOLCHAIN.match(name):
            names.add(name)
    return names


def strip_c(text):
    """Drop comments and preprocessor lines (the KFK_API #define itself)."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return text


def declared(include_dir):
    names = {}
    for path in sorted(glob.glob(os.path.join(include_dir, "*.h"))):
        with open(path, encoding="utf-8") as f:
            text = strip_c(f.read())
        # Each KFK_API declaration runs to its ';' (or '{' for an inline
        # definition); the name is the identifier before the first '(' —
        # or, for a variable, the last identifier.
        for m in re.finditer(r"\bKFK_API\b([^;{]*)", text):
            decl = m.group(1)
            fn = re.search(r"(\w+)\s*\(", decl)
            var = re.findall(r"\w+", decl.split("[")[0].split("=")[0])
            name = fn.group(1) if fn else (var[-1] if var else None)
            if name:
                names[name] = os.path.basename(path)
    return names


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    lib, include_dir = sys.argv[1], sys.argv[2]
    exp = exported(lib)
    dec = declared(include_dir)
    if not dec:
        print(f"no KFK_API declarations found in {include_dir}/*.h")
        return 1

    undeclared = sorted(exp - dec.keys())
    unexported = sorted(dec.keys() - exp)
    if not undeclared and not unexported:
        print(f"{len(exp)} exported symbols, all declared KFK_API")
        return 0

    print(f"exported by {os.path.basename(lib)} ({len(exp)}):")
    for n in sorted(exp):
        print(f"  {n}")
    print(f"declared KFK_API in {include_dir} ({len(dec)}):")
    for n in sorted(dec):
        print(f"  {n}  ({dec[n]})")
    if undeclared:
        print("exported but not declared KFK_API (make them static or "
              "hidden, or declare them):")
        for n in undeclared:
            print(f"  {n}")
    if unexported:
        print("declared KFK_API but not exported (no definition compiled "
              "into libkfk?):")
        for n in unexported:
            print(f"  {n}  ({dec[n]})")
    return 1


if __name__ == "__main__":
    sys.exit(main())
