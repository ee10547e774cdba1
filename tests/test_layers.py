"""The package's layers, checked on its own import statements: a lower layer never imports a higher one, and
the analysis core imports nothing that reads video or runs a model (issue 22)."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gaitlab"
# Bottom to top: each may import its own layer and those below it, never one above.
LAYERS = [
    {"gaitlab", "gaitlab.errors", "gaitlab.runtime"},
    {"gaitlab.core"},
    {"gaitlab.measure"},
    {"gaitlab.tracking"},
    {"gaitlab.outputs"},
    {"gaitlab.run"},
    {"gaitlab.app", "gaitlab.cli", "gaitlab.validate"},
]
# What the core and the measures may import beyond the standard library and gaitlab.
THIRD_PARTY = {"gaitlab.core": {"numpy", "scipy"}, "gaitlab.measure": {"numpy", "scipy", "cv2"}}
READS_VIDEO = ("av", "cv2", "mediapipe")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    """Index in LAYERS of the longest layer name that is module or a package above it."""
    best, index = "", None
    for i, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > len(best):
                best, index = name, i
    assert index is not None, f"{module} is in no layer: add it to LAYERS"
    return index


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every import in a file, also those inside functions."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module
            out += [(node.lineno, f"{name}.{a.name}" if name == "gaitlab" else name) for a in node.names]
    return out


def violations(path: Path) -> list[str]:
    """What `path` imports against the layers, as 'file:line: module imports name (why)'."""
    module = module_name(path)
    own = layer_of(module)
    allowed = next((v for k, v in THIRD_PARTY.items() if module == k or module.startswith(k + ".")), None)
    out = []
    for line, name in imports(path):
        where = f"{path.relative_to(PACKAGE.parent)}:{line}: {module} imports {name}"
        top = name.split(".")[0]
        if top == "gaitlab":
            if layer_of(name) > own:
                out.append(f"{where} (a higher layer)")
        elif allowed is not None and top not in sys.stdlib_module_names and top not in allowed:
            out.append(f"{where} (only {', '.join(sorted(allowed))} and the standard library here)")
    return out


def test_no_layer_imports_a_higher_one_and_the_core_reads_no_video():
    found = [v for path in sorted(PACKAGE.rglob("*.py")) for v in violations(path)]
    assert not found, "layer rule broken:\n" + "\n".join(found)


def test_the_checker_sees_a_forbidden_import(tmp_path, monkeypatch):
    """The rule above can fail: an `import av` in a core module, or the core importing an output, is caught."""
    fake = tmp_path / "gaitlab"
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "bad.py").write_text("import numpy\n\ndef f():\n    import av\n    from ..outputs import wording\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    found = violations(fake / "core" / "bad.py")
    assert len(found) == 2 and "imports av" in found[0] and "imports gaitlab.outputs (a higher layer)" in found[1]


@pytest.mark.parametrize("modules", [
    ["gaitlab.core." + p.stem for p in sorted((PACKAGE / "core").glob("*.py")) if p.stem != "__init__"]
    + ["gaitlab.outputs.wording", "gaitlab.outputs.exports", "gaitlab.validate"],
])
def test_the_core_and_the_report_text_import_without_video_or_model(modules):
    """With av, cv2 and mediapipe unimportable, the analysis core, the report's words and numbers
    (wording, exports) and the validation still import: none of them needs a video or a model."""
    blocker = ("import sys\n"
               "class Block:\n"
               "    def find_spec(self, name, path=None, target=None):\n"
               f"        if name.split('.')[0] in {READS_VIDEO!r}:\n"
               "            raise ImportError(f'{name} is blocked in this test')\n"
               "sys.meta_path.insert(0, Block())\n"
               + "".join(f"import {m}\n" for m in modules))
    run = subprocess.run([sys.executable, "-c", blocker], capture_output=True, text=True,
                         cwd=PACKAGE.parent)
    assert run.returncode == 0, run.stderr[-2000:]
