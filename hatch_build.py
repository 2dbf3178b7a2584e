"""Build ``trailkeeper._native`` (C, optional) into the wheel and the source tree.

The C module speeds up hot loops that also exist in Python; trailkeeper imports it when it
is there and runs the Python code otherwise. The module is compiled with setuptools (the
compiler and flags Python was built with) next to its sources, so that an editable install
finds it too. Without a C compiler the build goes on without it, saying so, unless
``TRAILKEEPER_REQUIRE_NATIVE=1`` asks for it (the test suite fails where a compiler was
there and the module is not).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCES = (
    "module.c", "jsonbuf.c", "canonical.c", "leaves.c", "jsonlines.c", "drafts.c", "timestamps.c",
    "bytecounts.c",
)  # fmt: skip
NATIVE = Path("src/native")


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        target = root / "src" / "trailkeeper" / f"_native{sysconfig.get_config_var('EXT_SUFFIX')}"
        with tempfile.TemporaryDirectory(prefix="trailkeeper-native-") as work:
            try:
                built = _compile(root, Path(work))
            except Exception as exc:  # a missing compiler or headers
                if os.environ.get("TRAILKEEPER_REQUIRE_NATIVE") == "1":
                    raise
                print(f"trailkeeper: C speedups not built ({exc}); using Python", file=sys.stderr)
                return
            # a new file, renamed over the old: a running process keeps the library it mapped
            staged = target.with_suffix(".new")
            shutil.copyfile(built, staged)
            os.replace(staged, target)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        if version != "editable":
            build_data["force_include"][str(target)] = f"trailkeeper/{target.name}"


def _compile(root: Path, work: Path) -> Path:
    """The compiled module, under ``work``."""
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    include = work / "include"
    include.mkdir()
    (include / "layout.h").write_text(_row_layout(root).c_header())
    extension = Extension(
        "trailkeeper._native",
        sources=[str(root / NATIVE / name) for name in SOURCES],
        include_dirs=[str(include)],
        extra_compile_args=[
            "-O2",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror=implicit-function-declaration",
        ],
    )
    command = build_ext(Distribution({"name": "trailkeeper", "ext_modules": [extension]}))
    command.build_lib = str(work / "lib")
    command.build_temp = str(work / "temp")
    command.ensure_finalized()
    command.run()
    return Path(command.get_ext_fullpath("trailkeeper._native"))


def _row_layout(root: Path) -> Any:
    """``trailkeeper/rowlayout.py``, loaded on its own: the one declaration of the row
    layout, which the C sources take as the generated ``layout.h``."""
    path = root / "src" / "trailkeeper" / "rowlayout.py"
    spec = importlib.util.spec_from_file_location("_trailkeeper_rowlayout", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
